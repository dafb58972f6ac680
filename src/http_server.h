/* HTTP listener (libmicrohttpd): connections, bounds and answers; what a
 * request means is the application's (http_webhook.c, http_admin.c).
 *
 * Bounds: at most max_connections connections (max_per_ip per client address
 * when set; over the limit the oldest connection that has shown no authentic
 * request and waits on nothing is closed for the new one); a body over
 * max_body is read and discarded, the application is told; bodies not yet
 * handed over hold at most unverified_budget bytes together (a body is
 * allocated as its bytes come, not as its Content-Length says); an idle
 * connection is closed after idle_timeout_s; and every request
 * must be complete (headers and body) within request_timeout_ms of the
 * connection opening or of the previous answer on it (HAProxy's
 * "timeout http-request"), or it gets 408 and the connection is closed, so a
 * client trickling bytes cannot hold a slot.
 *
 * The port is bound exclusively: a second process on the same address and
 * port fails to start, unless reuse_port asks for SO_REUSEPORT sharing.
 *
 * Flow: on_headers(app, req) when the headers are in (answer now to refuse
 * without reading the body); on_request(app, req) when the body is complete.
 * The application answers every request once with pb_http_answer(), from any
 * thread, now or later; until then the connection is suspended and holds no
 * thread, and the request stays valid.
 *
 * Answer deadline: with answer_timeout_ms, a request handed to on_request and
 * not answered that long after its body completed is answered here, 503 with
 * timeout_body, and on_timeout(app, req) is told. The request stays the
 * application's until it calls pb_http_answer() (which then drops its answer
 * and returns 0), so one clock, the listener's, decides every request's fate.
 *
 * Stop: pb_httpd_quiesce() closes the listening socket and makes the listener
 * answer every new request (keep-alive connections too) with 503
 * "shutting_down"; pb_httpd_free() answers whatever still waits (503), gives
 * those answers a moment to leave, and stops. No connection is left
 * suspended when libmicrohttpd stops. The application answers everything it
 * holds before pb_httpd_free() (http_webhook.c: the pipeline closes first) and
 * touches no request after it.
 *
 * Ownership: pb_httpd_new() borrows opts' strings and metrics for its
 * lifetime; pb_httpd_free() stops and frees it. */
#ifndef PB_HTTP_SERVER_H
#define PB_HTTP_SERVER_H

#include <stddef.h>

#include "metrics.h"

typedef struct pb_httpd pb_httpd_t;
typedef struct pb_http_req pb_http_req_t;

typedef void(pb_http_fn)(void *app, pb_http_req_t *req);

typedef struct pb_httpd_opts {
        const char *name; /* "webhook", "admin": logs */
        const char *address;
        unsigned port; /* 0: any free port (pb_httpd_port() tells) */
        unsigned threads;
        unsigned max_connections;
        unsigned max_per_ip; /* 0: no per-address cap */
        unsigned idle_timeout_s;
        unsigned request_timeout_ms; /* 0: none */
        size_t max_body;
        /* Bytes of request bodies not yet handed to on_request (so not yet
         * verified) held at once, across all connections (0: no bound); past
         * it the longest reader is cut for room, or a new request gets 503 at
         * its headers (busy_retry_after_s). */
        size_t unverified_budget;
        int busy_retry_after_s;
        int reuse_port;
        /* TLS only, with the pair http_tls.c serves (pb_tls_new() first).
         * A handshake counts against request_timeout_ms; a connection cut
         * for time or room is closed without an answer (none can be written
         * outside the TLS session). */
        int tls;
        pb_http_fn *on_headers; /* may be NULL */
        pb_http_fn *on_request;
        unsigned answer_timeout_ms; /* 0: the application always answers */
        const char *timeout_body;   /* JSON; borrowed */
        const char *timeout_reason; /* http_requests_total's reason label */
        int timeout_retry_after_s;
        pb_http_fn *on_timeout; /* may be NULL */
        void *app;
        pb_metrics_t *metrics; /* http_requests_total for the listener's own answers */
} pb_httpd_opts_t;

/* Starts listening. Returns NULL with errstr set (e.g. the port is taken). */
pb_httpd_t *pb_httpd_new(const pb_httpd_opts_t *opts, char *errstr, size_t errsz);

/* The TCP port bound. */
unsigned pb_httpd_port(const pb_httpd_t *h);

/* Stops accepting connections; new requests get 503 from here on. */
void pb_httpd_quiesce(pb_httpd_t *h);

/* Requests handed to the application and not answered yet. */
size_t pb_httpd_waiting(pb_httpd_t *h);

/* Answers whatever still waits, stops the listener and frees it. */
void pb_httpd_free(pb_httpd_t *h);

/* --- one request (valid until answered) --- */

const char *pb_http_req_method(const pb_http_req_t *r);
const char *pb_http_req_path(const pb_http_req_t *r);

/* A request header (case-insensitive), NULL if absent. Valid only inside
 * on_headers/on_request. */
const char *pb_http_req_header(const pb_http_req_t *r, const char *name);

/* The body read so far (complete in on_request, and valid only there: it is
 * freed when on_request returns). */
const char *pb_http_req_body(const pb_http_req_t *r, size_t *len);

/* Room kept before every body, for pb_http_req_prefix(). */
#define PB_HTTP_BODY_ROOM 16

/* Writes n bytes (at most PB_HTTP_BODY_ROOM) just before the body and
 * returns them and the body as one run of *total bytes, with no copy (a
 * signature's "<timestamp>|" prefix). NULL if n is too large or memory ran
 * out. Inside on_request only. */
const void *pb_http_req_prefix(pb_http_req_t *r, const void *prefix, size_t n, size_t *total);

/* How many times the request carries a header (case-insensitive). Valid
 * only inside on_headers/on_request. */
int pb_http_req_header_count(const pb_http_req_t *r, const char *name);

/* The request was authentic (a valid signature): its connection is not
 * closed to make room for others (max_connections). */
void pb_http_req_trust(pb_http_req_t *r);

/* 1 if the body was over max_body (and was discarded). */
int pb_http_req_too_large(const pb_http_req_t *r);

/* The client's address, for logs. */
const char *pb_http_req_client(const pb_http_req_t *r);

/* Monotonic ms at which the request's body was complete. */
long long pb_http_req_start_ms(const pb_http_req_t *r);

/* The application's per-request pointer. */
void pb_http_req_set_data(pb_http_req_t *r, void *data);
void *pb_http_req_data(const pb_http_req_t *r);

/* Answers the request and releases the application's hold on it: call it
 * exactly once per request; the request is invalid afterwards. Returns 1, or
 * 0 if the listener had answered it already (its deadline, or stopping) and
 * this answer was dropped. body is copied; retry_after_s > 0 adds
 * Retry-After, allow adds Allow. Callable from any thread. */
int pb_http_answer(pb_http_req_t *r, unsigned status, const char *content_type, const char *body,
                   size_t len, int retry_after_s, const char *allow);

#endif

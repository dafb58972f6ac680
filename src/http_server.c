#include "http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_tls.h"
#include "log.h"
#include "pb.h"

/* One TCP connection (libmicrohttpd's socket context). */
struct conn {
        struct conn *prev, *next;
        int fd;
        int64_t opened_ms;
        int64_t since_ms; /* when the current request's clock started */
        int reading;      /* waiting for a complete request: the deadline runs */
        int uri_seen;     /* a request line arrived (else the connection is idle) */
        int cut;          /* 1: an answer (408, 503) and FIN sent; 2: shut down both ways */
        int eof_scans;    /* deadline scans in a row that found the client's write side shut */
        int proven;       /* a request on it was authentic (pb_http_req_trust) */
        int busy;         /* its request was handed over and is not answered yet */
        int tls;          /* a TLS connection: nothing is written to its socket from outside
                           * libmicrohttpd's session (a cut closes it without the answer) */
        struct pb_http_req *req; /* the request being read or answered on it */
        int64_t cut_ms;
        char addr[64];
};

enum req_state { REQ_READING = 0, REQ_HANDED, REQ_DONE };

struct pb_http_req {
        pb_httpd_t *h;
        struct MHD_Connection *mc;
        struct conn *conn;
        enum req_state state;
        int refs;         /* libmicrohttpd's (until completed) + the application's */
        int app_released; /* the application answered (or never got it) */
        int answered;
        int queued;
        int suspended;
        struct MHD_Response *resp;
        unsigned status;
        /* The body, after PB_HTTP_BODY_ROOM bytes of room (pb_http_req_prefix):
         * allocated as it arrives, at most max_body, freed once on_request
         * returns. */
        char *mem;
        size_t blen, bcap;
        int64_t declared; /* Content-Length, -1 if none (chunked) */
        int overflow;     /* over max_body: read and discarded */
        int evicted;      /* cut to make room (the budget): its bytes are dropped */
        size_t held;      /* bytes of the unverified budget it holds (its allocation) */
        int64_t t0_ms;    /* its headers were taken */
        struct pb_http_req *rprev, *rnext; /* reading: holding budget, oldest first */
        int reading_listed;
        long long start_ms;
        void *data;
        struct pb_http_req *wprev, *wnext; /* waiting: handed and unanswered */
        char client[64]; /* its connection's address, kept: the connection may go first */
        char method[16];
        char path[];
};

struct pb_httpd {
        pb_httpd_opts_t o;
        struct MHD_Daemon *d;
        unsigned port;
        pthread_mutex_t lock; /* connections, requests, the waiting list */
        struct conn *conns;
        struct pb_http_req *waiting, *waiting_tail; /* oldest first: by deadline */
        size_t nwaiting;
        struct pb_http_req *reading, *reading_tail; /* bodies being read: oldest first */
        size_t budget_used;                         /* bytes they hold together */
        size_t nconns;
        char evict_resp[512]; /* the 503 a request cut for room gets */
        size_t evict_resp_len;
        size_t live; /* requests libmicrohttpd has not completed */
        int quiesced;
        int stop;
        pthread_t timer;
        int timer_started;
        pthread_cond_t cond;  /* a request completed */
        pthread_cond_t tcond; /* the deadline timer's sleep */
};

static void count(pb_httpd_t *h, unsigned code, const char *reason)
{
        if (!h->o.metrics)
                return;
        char labels[128];
        snprintf(labels, sizeof(labels), "code=\"%u\",reason=\"%s\"", code, reason);
        pb_metrics_add(h->o.metrics, "portout_bridge_http_requests_total", labels, 1);
}

/* A log line about a refused client was left out (its budget was spent). */
static void left_out(pb_httpd_t *h, int written)
{
        if (!written && h->o.metrics)
                pb_metrics_add(h->o.metrics, "portout_bridge_log_lines_left_out_total",
                               "what=\"listener\"", 1);
}

/* --- the request API --- */

const char *pb_http_req_method(const pb_http_req_t *r)
{
        return r->method;
}

const char *pb_http_req_path(const pb_http_req_t *r)
{
        return r->path;
}

const char *pb_http_req_header(const pb_http_req_t *r, const char *name)
{
        return MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND, name);
}

const char *pb_http_req_body(const pb_http_req_t *r, size_t *len)
{
        if (len)
                *len = r->mem ? r->blen : 0;
        return r->mem ? r->mem + PB_HTTP_BODY_ROOM : "";
}

const void *pb_http_req_prefix(pb_http_req_t *r, const void *prefix, size_t n, size_t *total)
{
        if (n > PB_HTTP_BODY_ROOM)
                return NULL;
        char *room = r->mem;
        if (!room) { /* an empty body: the room alone */
                room = calloc(1, PB_HTTP_BODY_ROOM + 1);
                if (!room)
                        return NULL;
                r->mem = room;
                r->blen = r->bcap = 0;
        }
        memcpy(room + PB_HTTP_BODY_ROOM - n, prefix, n);
        *total = n + r->blen;
        return room + PB_HTTP_BODY_ROOM - n;
}

int pb_http_req_too_large(const pb_http_req_t *r)
{
        return r->overflow;
}

struct count_ctx {
        const char *name;
        int n;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
        (void)kind;
        (void)value;
        struct count_ctx *c = cls;
        if (!strcasecmp(key, c->name))
                c->n++;
        return MHD_YES;
}

int pb_http_req_header_count(const pb_http_req_t *r, const char *name)
{
        struct count_ctx c = {name, 0};
        MHD_get_connection_values(r->mc, MHD_HEADER_KIND, count_header, &c);
        return c.n;
}

void pb_http_req_trust(pb_http_req_t *r)
{
        pthread_mutex_lock(&r->h->lock);
        if (r->conn)
                r->conn->proven = 1;
        pthread_mutex_unlock(&r->h->lock);
}

const char *pb_http_req_client(const pb_http_req_t *r)
{
        return r->client;
}

long long pb_http_req_start_ms(const pb_http_req_t *r)
{
        return r->start_ms;
}

void pb_http_req_set_data(pb_http_req_t *r, void *data)
{
        r->data = data;
}

void *pb_http_req_data(const pb_http_req_t *r)
{
        return r->data;
}

/* --- bodies and the unverified budget ---
 * Bytes of bodies not yet handed over (so not yet verified) are held
 * against opts.unverified_budget, across all connections, as they arrive.
 * When a chunk does not fit, the request that has been reading longest
 * (at least EVICT_MIN_MS) is cut to make room: 503 and closed. A sender
 * whose body has not come is the one that waits; taking the budget again
 * costs an attacker the whole budget in bytes every EVICT_MIN_MS. */
#define PB_HTTP_CONN_MEMORY ((size_t)12 * 1024)
#define BODY_FIRST                                                                                 \
        ((size_t)16 * 1024) /* a body's first allocation at most: it grows as bytes come */
#define EVICT_MIN_MS 250

static pb_log_limit_t evict_log = PB_LOG_LIMIT_INIT;

static void reading_del_locked(pb_httpd_t *h, pb_http_req_t *r)
{
        if (!r->reading_listed)
                return;
        if (r->rprev)
                r->rprev->rnext = r->rnext;
        else
                h->reading = r->rnext;
        if (r->rnext)
                r->rnext->rprev = r->rprev;
        else
                h->reading_tail = r->rprev;
        r->rprev = r->rnext = NULL;
        r->reading_listed = 0;
}

/* The request gives its budget back and leaves the reading list. */
static void release_locked(pb_httpd_t *h, pb_http_req_t *r)
{
        h->budget_used -= r->held;
        r->held = 0;
        reading_del_locked(h, r);
}

static void body_free_locked(pb_httpd_t *h, pb_http_req_t *r)
{
        release_locked(h, r);
        free(r->mem);
        r->mem = NULL;
        r->blen = r->bcap = 0;
}

/* Closes a connection from outside libmicrohttpd (under h->lock, which its
 * close waits for, so the fd is never a reused one): with an answer, as a
 * lingering close (the answer and a FIN, the read side a moment later), or
 * at once. */
static void cut_conn_locked(struct conn *c, const char *answer, size_t len)
{
        if (!c || c->fd < 0 || c->cut)
                return;
        if (answer && !c->tls) {
                ssize_t w = send(c->fd, answer, len, MSG_DONTWAIT | MSG_NOSIGNAL);
                (void)w;
                shutdown(c->fd, SHUT_WR);
                c->cut = 1;
                c->cut_ms = pb_mono_ms();
        } else {
                shutdown(c->fd, SHUT_RDWR);
                c->cut = 2;
        }
}

static void evict_locked(pb_httpd_t *h, pb_http_req_t *r, const char *why)
{
        body_free_locked(h, r);
        r->evicted = 1;
        cut_conn_locked(r->conn, h->evict_resp, h->evict_resp_len);
        count(h, 503, "evicted");
        if (h->o.metrics)
                pb_metrics_add(h->o.metrics, "portout_bridge_http_evictions_total",
                               "what=\"request\"", 1);
        left_out(h, pb_log_limited(&evict_log, PB_LOG_INFO, "%s: 503 evicted from %s: %s",
                                   h->o.name, r->client, why));
}

/* The oldest reading request other than r holding budget for at least
 * EVICT_MIN_MS, or NULL. */
static pb_http_req_t *victim_locked(pb_httpd_t *h, const pb_http_req_t *r, int64_t now)
{
        for (pb_http_req_t *v = h->reading; v; v = v->rnext)
                if (v != r && v->held)
                        return now - v->t0_ms >= EVICT_MIN_MS ? v : NULL;
        return NULL;
}

/* Makes r hold need bytes of the budget, cutting the longest readers if
 * they are in the way; -1 if it cannot. */
static int hold_locked(pb_httpd_t *h, pb_http_req_t *r, size_t need)
{
        if (!h->o.unverified_budget || need <= r->held)
                return 0;
        int64_t now = pb_mono_ms();
        while (h->budget_used - r->held + need > h->o.unverified_budget) {
                pb_http_req_t *v = victim_locked(h, r, now);
                if (!v)
                        return -1;
                evict_locked(h, v,
                             "the bytes of unverified requests reached "
                             "webhook.unverified_budget_bytes; the one reading longest "
                             "makes room");
        }
        h->budget_used += need - r->held;
        r->held = need;
        if (!r->reading_listed) {
                r->t0_ms = now;
                r->rprev = h->reading_tail;
                if (h->reading_tail)
                        h->reading_tail->rnext = r;
                else
                        h->reading = r;
                h->reading_tail = r;
                r->reading_listed = 1;
        }
        return 0;
}

/* A chunk of the body: kept if it fits max_body and the budget (the
 * allocation grows by doubling, up to the declared length), else the body
 * is dropped (too large: the application is told; no room: cut). */
static void take_upload_locked(pb_httpd_t *h, pb_http_req_t *r, const char *data, size_t n)
{
        if (r->answered || r->overflow || r->evicted)
                return;
        size_t len = r->blen + n;
        if (len > h->o.max_body) {
                r->overflow = 1;
                body_free_locked(h, r);
                return;
        }
        if (hold_locked(h, r, len)) {
                evict_locked(h, r, "no room in webhook.unverified_budget_bytes");
                return;
        }
        if (len > r->bcap) {
                size_t limit = h->o.max_body;
                if (r->declared >= 0 && (uint64_t)r->declared < limit)
                        limit = (size_t)r->declared;
                size_t cap = r->bcap ? r->bcap * 2 : BODY_FIRST;
                if (cap > limit)
                        cap = limit;
                if (cap < len)
                        cap = len;
                char *m = realloc(r->mem, PB_HTTP_BODY_ROOM + cap + 1);
                if (!m) {
                        evict_locked(h, r, "out of memory");
                        return;
                }
                r->mem = m;
                r->bcap = cap;
        }
        memcpy(r->mem + PB_HTTP_BODY_ROOM + r->blen, data, n);
        r->blen = len;
        r->mem[PB_HTTP_BODY_ROOM + len] = '\0';
}

/* Caller holds h->lock. */
static void req_unref_locked(pb_http_req_t *r)
{
        if (--r->refs > 0)
                return;
        if (r->resp)
                MHD_destroy_response(r->resp);
        body_free_locked(r->h, r);
        free(r);
}

static void waiting_del_locked(pb_httpd_t *h, pb_http_req_t *r)
{
        if (!r->wprev && !r->wnext && h->waiting != r)
                return;
        if (r->wprev)
                r->wprev->wnext = r->wnext;
        else
                h->waiting = r->wnext;
        if (r->wnext)
                r->wnext->wprev = r->wprev;
        else
                h->waiting_tail = r->wprev;
        r->wprev = r->wnext = NULL;
        h->nwaiting--;
}

/* Every request's deadline is its hand-off time plus one constant, so
 * appending keeps the list sorted; the timer, asleep until the head's
 * deadline, is woken only when a request becomes the head. */
static void waiting_add_locked(pb_httpd_t *h, pb_http_req_t *r)
{
        r->wprev = h->waiting_tail;
        if (h->waiting_tail) {
                h->waiting_tail->wnext = r;
        } else {
                h->waiting = r;
                pthread_cond_signal(&h->tcond);
        }
        h->waiting_tail = r;
        h->nwaiting++;
}

static struct MHD_Response *make_response(const char *content_type, const char *body, size_t len,
                                          int retry_after_s, const char *allow, int close_conn)
{
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return NULL;
        if (content_type)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        if (retry_after_s > 0) {
                char ra[16];
                snprintf(ra, sizeof(ra), "%d", retry_after_s);
                MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
        }
        if (allow)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
        if (close_conn)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
        return resp;
}

/* Records the answer and wakes the connection if it waits. Caller holds
 * h->lock. */
static void answer_locked(pb_http_req_t *r, unsigned status, struct MHD_Response *resp)
{
        if (r->answered) {
                if (resp)
                        MHD_destroy_response(resp);
                return;
        }
        r->answered = 1;
        r->status = status;
        r->resp = resp;
        waiting_del_locked(r->h, r);
        if (r->suspended) {
                r->suspended = 0;
                MHD_resume_connection(r->mc);
        }
}

int pb_http_answer(pb_http_req_t *r, unsigned status, const char *content_type, const char *body,
                   size_t len, int retry_after_s, const char *allow)
{
        pb_httpd_t *h = r->h;
        pthread_mutex_lock(&h->lock);
        int taken = !r->answered;
        if (taken)
                answer_locked(r, status,
                              make_response(content_type, body, len, retry_after_s, allow, 0));
        if (!r->app_released) {
                r->app_released = 1;
                req_unref_locked(r);
        }
        pthread_mutex_unlock(&h->lock);
        return taken;
}

static const char shutting_down_body[] =
    "{\"error\":\"shutting_down\",\"message\":\"the bridge is stopping; retry\"}";

/* The listener's own 503 while stopping; closes the connection so keep-alive
 * clients go elsewhere. Caller holds h->lock. */
static void answer_shutting_down_locked(pb_httpd_t *h, pb_http_req_t *r)
{
        struct MHD_Response *resp = make_response("application/json", shutting_down_body,
                                                  sizeof(shutting_down_body) - 1, 1, NULL, 1);
        answer_locked(r, MHD_HTTP_SERVICE_UNAVAILABLE, resp);
        count(h, 503, "shutting_down");
}

/* Gives a recorded answer to libmicrohttpd. Caller holds h->lock; runs on
 * the connection's thread (inside the access handler). */
static enum MHD_Result queue_locked(pb_http_req_t *r)
{
        if (r->queued)
                return MHD_YES;
        r->queued = 1;
        if (!r->resp)
                return MHD_NO; /* out of memory: close the connection */
        return MHD_queue_response(r->mc, r->status, r->resp);
}

/* A request the listener answered itself (bad framing, stopping) before the
 * application saw it: the application's reference is dropped unused, the
 * answer queued, the lock released. Caller holds h->lock. */
static enum MHD_Result refused_unlock(pb_httpd_t *h, pb_http_req_t *r)
{
        r->app_released = 1;
        r->refs--;
        enum MHD_Result ret = queue_locked(r);
        pthread_mutex_unlock(&h->lock);
        return ret;
}

static struct conn *conn_of(struct MHD_Connection *mc)
{
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        return ci ? ci->socket_context : NULL;
}

/* --- message framing (RFC 9112 §6) ---
 * A proxy in front may frame a request differently from us: with both
 * Content-Length and Transfer-Encoding, two lengths, a coding list or a
 * header name with spaces, one of the two would see a second request hidden
 * in the body (request smuggling). libmicrohttpd is lenient there, so every
 * such request is refused before its body is read, and its connection
 * closed, as HAProxy does. */
struct framing {
        int cl, te, bad_name, bad_cl, bad_te, bad_value;
};

static int is_tchar(unsigned char c)
{
        return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
        (void)kind;
        struct framing *f = cls;
        if (!*key)
                f->bad_name = 1;
        for (const char *k = key; *k; k++)
                if (!is_tchar((unsigned char)*k))
                        f->bad_name = 1;
        if (!value)
                value = "";
        /* RFC 9110 §5.5: no CR, LF or NUL in a value. libmicrohttpd keeps a
         * bare CR in it ("Host: x\rContent-Length: 5"), where a proxy may
         * have ended the line. */
        for (const char *v = value; *v; v++)
                if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
                        f->bad_value = 1;
        if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
                f->cl++;
                if (!*value || strspn(value, "0123456789") != strlen(value))
                        f->bad_cl = 1;
        } else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
                f->te++;
                if (strcasecmp(value, "chunked") != 0)
                        f->bad_te = 1; /* only chunked alone is ours to decode */
        } else if (!strncasecmp(key, "content-length", 14) ||
                   !strncasecmp(key, "transfer-encoding", 17)) {
                /* libmicrohttpd joins a folded line (obs-fold) to the name:
                 * "Content-Length: 7\r\n 45" arrives as "Content-Length45",
                 * and the body would be read as the next request. */
                f->bad_name = 1;
        }
        return MHD_YES;
}

/* NULL if the request's framing is unambiguous, else why not. */
static const char *framing_problem(struct MHD_Connection *mc)
{
        struct framing f;
        memset(&f, 0, sizeof(f));
        MHD_get_connection_values(mc, MHD_HEADER_KIND, framing_header, &f);
        if (f.bad_name)
                return "a header name is not a token (a space before the colon, or a folded "
                       "line?)";
        if (f.bad_value)
                return "a header value holds a control character (a bare CR?)";
        if (f.cl && f.te)
                return "both Content-Length and Transfer-Encoding";
        if (f.cl > 1)
                return "more than one Content-Length";
        if (f.bad_cl)
                return "Content-Length is not a number";
        if (f.te > 1 || f.bad_te)
                return "Transfer-Encoding other than chunked alone";
        return NULL;
}

static void answer_bad_framing_locked(pb_httpd_t *h, pb_http_req_t *r, const char *why)
{
        char body[256];
        int n = snprintf(body, sizeof(body),
                         "{\"error\":\"bad_request\",\"message\":\"ambiguous message framing: "
                         "%s\"}",
                         why);
        struct MHD_Response *resp =
            make_response("application/json", body, (size_t)n, 0, NULL, 1 /* close */);
        answer_locked(r, MHD_HTTP_BAD_REQUEST, resp);
        count(h, 400, "bad_framing");
}

/* Room for the first bytes of a body (up to BODY_FIRST of its declared
 * length) in the budget, now or by cutting a long reader when they come. */
static int room_for_body_locked(pb_httpd_t *h, const pb_http_req_t *r)
{
        if (!h->o.unverified_budget || r->declared == 0)
                return 1;
        size_t first = r->declared > 0 && (uint64_t)r->declared < BODY_FIRST ? (size_t)r->declared
                                                                             : BODY_FIRST;
        return h->budget_used + first <= h->o.unverified_budget ||
               victim_locked(h, r, pb_mono_ms()) != NULL;
}

static pb_log_limit_t busy_log = PB_LOG_LIMIT_INIT;

/* No room for another unverified body: 503 at the headers, the connection
 * closed (its body is never read). */
static void answer_busy_locked(pb_httpd_t *h, pb_http_req_t *r)
{
        static const char body[] = "{\"error\":\"busy\",\"message\":\"the bytes of unverified "
                                   "requests reached their budget; retry\"}";
        struct MHD_Response *resp = make_response("application/json", body, sizeof(body) - 1,
                                                  h->o.busy_retry_after_s, NULL, 1);
        answer_locked(r, MHD_HTTP_SERVICE_UNAVAILABLE, resp);
        count(h, 503, "busy");
        left_out(h, pb_log_limited(
                        &busy_log, PB_LOG_INFO,
                        "%s: 503 busy from %s: unverified request bodies hold the whole budget",
                        h->o.name, r->client));
}

static pb_log_limit_t framing_log = PB_LOG_LIMIT_INIT, timeout_log = PB_LOG_LIMIT_INIT;

static enum MHD_Result on_access(void *cls, struct MHD_Connection *mc, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
        (void)version;
        pb_httpd_t *h = cls;
        pb_http_req_t *r = *con_cls;

        if (!r) {
                size_t n = strlen(url);
                r = calloc(1, sizeof(*r) + n + 1);
                if (!r)
                        return MHD_NO;
                memcpy(r->path, url, n + 1);
                snprintf(r->method, sizeof(r->method), "%s", method);
                r->h = h;
                r->mc = mc;
                r->conn = conn_of(mc);
                snprintf(r->client, sizeof(r->client), "%s", r->conn ? r->conn->addr : "?");
                r->refs = 2; /* libmicrohttpd's, and the application's until it answers */
                const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
                                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
                r->declared =
                    cl && *cl ? strtoll(cl, NULL, 10) : -1; /* digits: framing_problem() */
                *con_cls = r;
                const char *bad = framing_problem(mc);
                pthread_mutex_lock(&h->lock);
                h->live++;
                if (r->conn)
                        r->conn->req = r;
                if (bad) {
                        left_out(
                            h, pb_log_limited(&framing_log, PB_LOG_WARN,
                                              "%s: http: %s %s from %s refused: ambiguous message "
                                              "framing: %s",
                                              h->o.name, r->method, r->path, r->client, bad));
                        answer_bad_framing_locked(h, r, bad);
                        return refused_unlock(h, r);
                }
                if (h->quiesced) {
                        answer_shutting_down_locked(h, r);
                        return refused_unlock(h, r);
                }
                pthread_mutex_unlock(&h->lock);
                if (h->o.on_headers)
                        h->o.on_headers(h->o.app, r);
                pthread_mutex_lock(&h->lock);
                if (!r->answered && !room_for_body_locked(h, r))
                        answer_busy_locked(h, r);
                enum MHD_Result ret = r->answered ? queue_locked(r) : MHD_YES;
                pthread_mutex_unlock(&h->lock);
                return ret;
        }

        if (*upload_size > 0) {
                pthread_mutex_lock(&h->lock);
                take_upload_locked(h, r, upload, *upload_size);
                pthread_mutex_unlock(&h->lock);
                *upload_size = 0;
                return MHD_YES;
        }

        pthread_mutex_lock(&h->lock);
        if (r->evicted) { /* answered on the socket already: close */
                pthread_mutex_unlock(&h->lock);
                return MHD_NO;
        }
        if (r->state == REQ_READING && !r->answered) {
                r->state = REQ_HANDED;
                r->start_ms = pb_mono_ms();
                if (r->conn)
                        r->conn->reading = 0; /* complete: waiting for Kafka is not slowness */
                if (h->quiesced) {
                        answer_shutting_down_locked(h, r);
                        return refused_unlock(h, r);
                }
                waiting_add_locked(h, r);
                if (r->conn)
                        r->conn->busy = 1;
                pthread_mutex_unlock(&h->lock);

                h->o.on_request(h->o.app, r);

                pthread_mutex_lock(&h->lock);
                body_free_locked(h, r); /* the body is the application's only in on_request */
                if (!r->answered) {
                        /* Answered later from another thread: hold no thread. */
                        MHD_suspend_connection(mc);
                        r->suspended = 1;
                        pthread_mutex_unlock(&h->lock);
                        return MHD_YES;
                }
        }
        enum MHD_Result ret = r->answered ? queue_locked(r) : MHD_YES;
        pthread_mutex_unlock(&h->lock);
        return ret;
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        (void)toe;
        pb_httpd_t *h = cls;
        pb_http_req_t *r = *con_cls;
        struct conn *c = conn_of(mc);
        pthread_mutex_lock(&h->lock);
        if (c) {
                /* The next request on this connection starts its own clock. */
                c->reading = 1;
                c->uri_seen = 0;
                c->busy = 0;
                c->since_ms = pb_mono_ms();
                if (c->req == r)
                        c->req = NULL;
        }
        if (r) {
                h->live--;
                pthread_cond_broadcast(&h->cond);
                waiting_del_locked(h, r);
                if (!r->app_released && r->state != REQ_HANDED) {
                        /* Aborted before the application had it to answer
                         * (a handed one is the application's until it
                         * answers, even if the deadline answered first). */
                        r->app_released = 1;
                        r->refs--;
                }
                req_unref_locked(r);
        }
        pthread_mutex_unlock(&h->lock);
        *con_cls = NULL;
}

static pb_log_limit_t conn_log = PB_LOG_LIMIT_INIT;

/* Over max_connections: the oldest connection that has shown no authentic
 * request and waits on nothing of ours is closed for the new one (503 if a
 * request was under way), so an attacker holding every slot cannot keep
 * Telnyx out; if every connection is proven or busy, the new one is
 * closed. libmicrohttpd's own limit is higher, so that it accepts the
 * connection we then choose between. */
static void make_room_locked(pb_httpd_t *h, struct conn *fresh)
{
        struct conn *victim = NULL;
        for (struct conn *c = h->conns; c; c = c->next)
                if (c != fresh && !c->proven && !c->busy && !c->cut && c->fd >= 0 &&
                    (!victim || c->opened_ms <= victim->opened_ms))
                        victim = c;
        if (!victim) {
                cut_conn_locked(fresh, NULL, 0);
                return;
        }
        pb_http_req_t *r = victim->req;
        if (r && r->state == REQ_READING && !r->answered && !r->evicted)
                evict_locked(h, r,
                             "over the connection limit: the oldest unproven connection "
                             "makes room");
        else
                cut_conn_locked(victim, NULL, 0);
        if (h->o.metrics)
                pb_metrics_add(h->o.metrics, "portout_bridge_http_evictions_total",
                               "what=\"connection\"", 1);
        left_out(h, pb_log_limited(
                        &conn_log, PB_LOG_INFO,
                        "%s: closed the oldest unproven connection (from %s) to make room: over "
                        "%u connections",
                        h->o.name, victim->addr, h->o.max_connections));
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
        pb_httpd_t *h = cls;
        if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
                struct conn *c = calloc(1, sizeof(*c));
                if (!c)
                        return;
                const union MHD_ConnectionInfo *ci =
                    MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
                c->fd = ci ? ci->connect_fd : -1;
                ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
                snprintf(c->addr, sizeof(c->addr), "?");
                if (ci && ci->client_addr) {
                        const struct sockaddr *sa = ci->client_addr;
                        if (sa->sa_family == AF_INET)
                                inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
                                          c->addr, sizeof(c->addr));
                        else if (sa->sa_family == AF_INET6)
                                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
                                          c->addr, sizeof(c->addr));
                }
                c->reading = 1;
                c->tls = h->o.tls;
                c->since_ms = c->opened_ms = pb_mono_ms();
                pthread_mutex_lock(&h->lock);
                c->next = h->conns;
                if (h->conns)
                        h->conns->prev = c;
                h->conns = c;
                if (++h->nconns > h->o.max_connections)
                        make_room_locked(h, c);
                pthread_mutex_unlock(&h->lock);
                *socket_context = c;
                return;
        }
        struct conn *c = *socket_context;
        if (!c)
                return;
        /* libmicrohttpd closes the socket only after this returns, so the
         * deadline (under the same lock) never touches a reused fd. */
        pthread_mutex_lock(&h->lock);
        h->nconns--;
        if (c->req)
                c->req->conn = NULL;
        if (c->prev)
                c->prev->next = c->next;
        else
                h->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        pthread_mutex_unlock(&h->lock);
        free(c);
        *socket_context = NULL;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
        (void)uri;
        pb_httpd_t *h = cls;
        struct conn *c = conn_of(mc);
        if (c) {
                pthread_mutex_lock(&h->lock);
                c->uri_seen = 1;
                pthread_mutex_unlock(&h->lock);
        }
        return NULL;
}

static const char timeout_response[] =
    "HTTP/1.1 408 Request Timeout\r\n"
    "Content-Type: application/json\r\n"
    "Connection: close\r\n"
    "Content-Length: 87\r\n"
    "\r\n"
    "{\"error\":\"request_timeout\",\"message\":\"the request was not complete within the limit\"}";

/* The deadline: a request that is not complete in time is answered 408 (if it
 * had begun) and its connection closed; libmicrohttpd then sees the end of
 * the stream and closes it as usual. Like a lingering close, the 408 and a
 * FIN go first and the read side is cut a moment later: closing with the
 * client's bytes unread would reset the connection and lose the 408. */
#define LINGER_MS 500

/* Cuts connections whose request is not complete in time. Caller holds
 * h->lock; runs every SCAN_MS. */
static void cut_slow_locked(pb_httpd_t *h, int64_t now)
{
        for (struct conn *c = h->conns; c; c = c->next) {
                if (c->fd < 0 || c->cut == 2)
                        continue;
                if (c->cut == 1) {
                        if (now - c->cut_ms >= LINGER_MS) {
                                c->cut = 2;
                                shutdown(c->fd, SHUT_RDWR);
                        }
                        continue;
                }
                if (!c->reading)
                        continue;
                /* A client that shut its write side cannot finish a request:
                 * libmicrohttpd would wait for the deadline. Two scans in a
                 * row, so a whole request read with its end is handed over
                 * first (it is then not reading). */
                char b;
                if (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
                        if (++c->eof_scans >= 2) {
                                c->cut = 2;
                                shutdown(c->fd, SHUT_RDWR);
                        }
                        continue;
                }
                c->eof_scans = 0;
                if (now - c->since_ms < (int64_t)h->o.request_timeout_ms)
                        continue;
                if (!c->uri_seen || c->tls) { /* idle (or a handshake): close quietly; over
                                               * TLS a 408 cannot be written from here */
                        c->cut = 2;
                        shutdown(c->fd, SHUT_RDWR);
                        continue;
                }
                c->cut = 1;
                c->cut_ms = now;
                ssize_t w = send(c->fd, timeout_response, sizeof(timeout_response) - 1,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
                (void)w;
                shutdown(c->fd, SHUT_WR);
                count(h, 408, "request_timeout");
                left_out(h, pb_log_limited(
                                &timeout_log, PB_LOG_INFO,
                                "%s: 408 request_timeout from %s: no complete request within %u ms",
                                h->o.name, c->addr, h->o.request_timeout_ms));
        }
}

/* The answer deadline of the oldest waiting request passed: 503, and the
 * application is told (holding a reference, so its own answer racing this
 * one cannot free the request under it). Caller holds h->lock. */
static void expire_locked(pb_httpd_t *h, pb_http_req_t *r)
{
        const char *b = h->o.timeout_body ? h->o.timeout_body : "{}";
        answer_locked(
            r, MHD_HTTP_SERVICE_UNAVAILABLE,
            make_response("application/json", b, strlen(b), h->o.timeout_retry_after_s, NULL, 0));
        count(h, 503, h->o.timeout_reason ? h->o.timeout_reason : "answer_timeout");
        if (!h->o.on_timeout)
                return;
        r->refs++;
        pthread_mutex_unlock(&h->lock);
        h->o.on_timeout(h->o.app, r);
        pthread_mutex_lock(&h->lock);
        req_unref_locked(r);
}

#define SCAN_MS 100

static void *timer_main(void *arg)
{
        pb_httpd_t *h = arg;
        int64_t next_scan = pb_mono_ms() + SCAN_MS;
        const int64_t answer_ms = h->o.answer_timeout_ms;
        pthread_mutex_lock(&h->lock);
        while (!h->stop) {
                int64_t now = pb_mono_ms();
                pb_http_req_t *r = answer_ms ? h->waiting : NULL;
                if (r && r->start_ms + answer_ms <= now) {
                        expire_locked(h, r);
                        continue;
                }
                if (now >= next_scan) {
                        next_scan = now + SCAN_MS;
                        if (h->o.request_timeout_ms)
                                cut_slow_locked(h, now);
                        continue;
                }
                int64_t wake =
                    r && r->start_ms + answer_ms < next_scan ? r->start_ms + answer_ms : next_scan;
                pb_cond_timedwait_ms(&h->tcond, &h->lock, wake - now);
        }
        pthread_mutex_unlock(&h->lock);
        return NULL;
}

/* libmicrohttpd hands us its own format string. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        pb_httpd_t *h = cls;
        char msg[512];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        size_t n = strlen(msg);
        while (n && msg[n - 1] == '\n')
                msg[--n] = '\0';
        pb_warn("%s: http: %s", h->o.name, msg);
}
#pragma GCC diagnostic pop

pb_httpd_t *pb_httpd_new(const pb_httpd_opts_t *opts, char *errstr, size_t errsz)
{
        pb_httpd_t *h = calloc(1, sizeof(*h));
        if (!h) {
                pb_seterr(errstr, errsz, "out of memory");
                return NULL;
        }
        h->o = *opts;
        static const char evict_body[] =
            "{\"error\":\"busy\",\"message\":\"cut to make room for other requests: the body "
            "did not arrive in time; retry\"}";
        int en = snprintf(h->evict_resp, sizeof(h->evict_resp),
                          "HTTP/1.1 503 Service Unavailable\r\n"
                          "Content-Type: application/json\r\n"
                          "Retry-After: %d\r\n"
                          "Connection: close\r\n"
                          "Content-Length: %zu\r\n"
                          "\r\n%s",
                          opts->busy_retry_after_s > 0 ? opts->busy_retry_after_s : 1,
                          sizeof(evict_body) - 1, evict_body);
        h->evict_resp_len = (size_t)en;
        pthread_mutex_init(&h->lock, NULL);
        pb_cond_init(&h->cond);
        pb_cond_init(&h->tcond);

        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
                         MHD_USE_ERROR_LOG;
        struct sockaddr_in *sa4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *sa6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, opts->address, &sa4->sin_addr) == 1) {
                sa4->sin_family = AF_INET;
                sa4->sin_port = htons((uint16_t)opts->port);
        } else if (inet_pton(AF_INET6, opts->address, &sa6->sin6_addr) == 1) {
                sa6->sin6_family = AF_INET6;
                sa6->sin6_port = htons((uint16_t)opts->port);
                flags |= MHD_USE_IPv6;
        } else {
                pb_seterr(errstr, errsz, "\"%s\" is not an IPv4 or IPv6 address", opts->address);
                goto fail;
        }
        struct MHD_OptionItem mo[20];
        int n = 0;
#define OPT(o, v, p) (mo[n++] = (struct MHD_OptionItem){(o), (intptr_t)(v), (p)})
        /* the logger first, or libmicrohttpd prints early errors itself */
        OPT(MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, h);
        OPT(MHD_OPTION_SOCK_ADDR, 0, &ss);
        if (opts->threads > 1)
                OPT(MHD_OPTION_THREAD_POOL_SIZE, opts->threads, NULL);
        /* Above our own limit, so that a new connection is accepted and
         * the oldest unproven one closed for it (make_room_locked). */
        OPT(MHD_OPTION_CONNECTION_LIMIT,
            opts->max_connections +
                (opts->max_connections / 8 > 16 ? opts->max_connections / 8 : 16),
            NULL);
        OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, opts->max_per_ip, NULL);
        /* Each connection's own buffer (headers, the body's next bytes,
         * the answer): libmicrohttpd's 32 KiB default, touched whole by a
         * body streaming in, is 28 MiB over 900 connections; headers and a
         * Telnyx answer need a few. */
        OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)PB_HTTP_CONN_MEMORY, NULL);
        OPT(MHD_OPTION_CONNECTION_TIMEOUT, opts->idle_timeout_s, NULL);
        OPT(MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, h);
        OPT(MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, h);
        OPT(MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, h);
        /* Strict HTTP/1.1: a Host header, no bare LF, no space in names. */
        OPT(MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL);
        /* Exclusive unless asked: libmicrohttpd then sets SO_REUSEADDR only, so
         * a second listener on a live port fails with "address in use". (The
         * option set to 0 would also drop SO_REUSEADDR, and a restart would
         * wait out TIME_WAIT.) */
        if (opts->reuse_port)
                OPT(MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL);
        if (opts->tls) {
                /* The pair comes from http_tls.c's callback at each handshake,
                 * so a reload needs no restart. */
                flags |= MHD_USE_TLS;
                OPT(MHD_OPTION_HTTPS_CERT_CALLBACK, 0, pb_tls_cert_callback());
                OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)pb_tls_priorities());
        }
        OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
        h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_access, h, MHD_OPTION_ARRAY, mo,
                                MHD_OPTION_END);
        if (!h->d) {
                pb_seterr(errstr, errsz,
                          "%s listener: cannot listen on %s:%u (address in use, or another "
                          "instance runs with this configuration)",
                          opts->name, opts->address, opts->port);
                goto fail;
        }
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
        h->port = di ? di->port : opts->port;
        if (pthread_create(&h->timer, NULL, timer_main, h)) {
                pb_seterr(errstr, errsz, "cannot start the %s timer thread", opts->name);
                MHD_stop_daemon(h->d);
                goto fail;
        }
        h->timer_started = 1;
        return h;
fail:
        pthread_mutex_destroy(&h->lock);
        pthread_cond_destroy(&h->cond);
        pthread_cond_destroy(&h->tcond);
        free(h);
        return NULL;
}

unsigned pb_httpd_port(const pb_httpd_t *h)
{
        return h->port;
}

void pb_httpd_quiesce(pb_httpd_t *h)
{
        pthread_mutex_lock(&h->lock);
        int already = h->quiesced;
        h->quiesced = 1;
        pthread_mutex_unlock(&h->lock);
        if (!already) {
                MHD_socket fd = MHD_quiesce_daemon(h->d);
                if (fd != MHD_INVALID_SOCKET)
                        close(fd);
        }
}

size_t pb_httpd_waiting(pb_httpd_t *h)
{
        pthread_mutex_lock(&h->lock);
        size_t n = h->nwaiting;
        pthread_mutex_unlock(&h->lock);
        return n;
}

void pb_httpd_free(pb_httpd_t *h)
{
        if (!h)
                return;
        pb_httpd_quiesce(h);
        pthread_mutex_lock(&h->lock);
        if (h->waiting)
                pb_err("%s: internal: %zu request(s) still unanswered at stop; answering 503",
                       h->o.name, h->nwaiting);
        /* libmicrohttpd must not stop with a suspended connection (it aborts).
         * The application's hold goes too: it may not touch them after this. */
        pb_http_req_t *list = h->waiting;
        h->waiting = h->waiting_tail = NULL;
        h->nwaiting = 0;
        while (list) {
                pb_http_req_t *r = list;
                list = r->wnext;
                r->wprev = r->wnext = NULL;
                answer_shutting_down_locked(h, r);
                if (!r->app_released) {
                        r->app_released = 1;
                        req_unref_locked(r);
                }
        }
        /* Give the answers a moment to leave before the connections close. */
        int64_t until = pb_mono_ms() + 1000;
        while (h->live > 0 && pb_mono_ms() < until)
                pb_cond_timedwait_ms(&h->cond, &h->lock, 20);
        h->stop = 1;
        pthread_cond_broadcast(&h->tcond);
        pthread_mutex_unlock(&h->lock);
        if (h->timer_started)
                pthread_join(h->timer, NULL);
        MHD_stop_daemon(h->d);
        pthread_mutex_destroy(&h->lock);
        pthread_cond_destroy(&h->cond);
        pthread_cond_destroy(&h->tcond);
        free(h);
}

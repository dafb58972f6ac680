/* Telnyx REST client (libcurl): GET /portouts/events (list), GET
 * /portouts/events/{id} (show), POST /portouts/events/{id}/republish.
 *
 * GET /portouts/{id} and GET /portouts (the resource, for the state topic).
 *
 * One connection is reused across requests. An answer that says the rate
 * limit's window is spent (x-ratelimit-remaining: 0) holds the next request
 * until x-ratelimit-reset. Network errors, 408, 429 and 5xx
 * are retried with exponential backoff and jitter, capped; Retry-After(-Ms) and
 * x-ratelimit-reset win when present, x-should-retry overrides. 401/403, 404
 * and other 4xx are final and come back with Telnyx's errors[].detail.
 * The API key is sent as a Bearer token and never appears in a message.
 *
 * Ownership: pb_telnyx_new()/pb_telnyx_free(); bodies returned are malloc'd
 * and freed by the caller. Not thread-safe: one client per thread. */
#ifndef PB_TELNYX_CLIENT_H
#define PB_TELNYX_CLIENT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "jsoncheck.h"

typedef struct pb_telnyx pb_telnyx_t;

typedef enum pb_tx_rc {
        PB_TX_OK = 0,
        PB_TX_NOT_FOUND,   /* 404 */
        PB_TX_AUTH,        /* 401, 403: the key is wrong or lacks rights */
        PB_TX_REJECTED,    /* 400, 422 and other 4xx: the request is wrong */
        PB_TX_UNAVAILABLE, /* retries used up (network, 408, 429, 5xx, bad bodies) */
        PB_TX_ABORTED,     /* the abort flag was raised while waiting */
        PB_TX_LIMITED /* 429 to pb_telnyx_action(): refused by the rate limit, not carried out */
} pb_tx_rc_t;

/* Filters of GET /portouts/events; NULL members are left out. */
typedef struct pb_event_filter {
        const char *event_type;
        const char *portout_id;
        const char *created_gte; /* RFC 3339 */
        const char *created_lte;
} pb_event_filter_t;

/* Creates a client from cfg (api_base, timeouts, CA file, retries). The API
 * key must be set (TELNYX_API_KEY or telnyx.api_key_file). */
pb_telnyx_t *pb_telnyx_new(const pb_config_t *cfg, char *errstr, size_t errsz);

/* Frees the client. */
void pb_telnyx_free(pb_telnyx_t *tx);

/* While *flag is non-zero, waits between retries end early, and so does a
 * request in flight (PB_TX_ABORTED; for pb_telnyx_action(), whose call may
 * have been sent, PB_TX_UNAVAILABLE). */
void pb_telnyx_set_abort_flag(pb_telnyx_t *tx, volatile sig_atomic_t *flag);

/* Longest id the bridge puts in a URL or a filter. */
#define PB_TELNYX_ID_MAX 64

/* 1 if id may name a Telnyx resource: 1 to PB_TELNYX_ID_MAX characters of
 * A-Z a-z 0-9 '-' '_' (Telnyx ids are UUIDs). Anything else (".", "..", a
 * slash, a percent sign, a space) could steer a request, carrying the API
 * key, to another path, and is refused before a URL is built. */
int pb_telnyx_id_valid(const char *id);

struct json_object;

/* GET /portouts/{id}: the port-out resource; *out is the parsed answer
 * ({"data": {...}}, the caller frees it). */
pb_tx_rc_t pb_telnyx_get_portout(pb_telnyx_t *tx, const char *id, struct json_object **out,
                                 char *errstr, size_t errsz);

/* GET /portouts: one page of port-outs whose status is among status_in
 * (comma-separated; NULL or "": any), *page_out parsed. */
pb_tx_rc_t pb_telnyx_list_portouts(pb_telnyx_t *tx, const char *status_in, long page, long size,
                                   struct json_object **page_out, char *errstr, size_t errsz);

/* What a one-shot call was answered. */
typedef struct pb_tx_answer {
        long status;              /* 0: no answer came (network, timeout) */
        char error_code[32];      /* errors[0].code of an error answer, "" if none */
        char error_detail[256];   /* its detail (control characters replaced) */
        struct json_object *body; /* a 2xx's JSON object, or NULL; the caller frees it */
} pb_tx_answer_t;

/* One call that changes something at Telnyx (the desk's commands):
 * method (PATCH, POST) on /portouts/{id}{suffix} with json_body, sent
 * once: it retries nothing, as a retry after an unknown fate would be a
 * second call (the caller decides, after a 429 only). It waits first
 * for the rate limit an earlier answer advertised. PB_TX_OK (2xx),
 * PB_TX_REJECTED/NOT_FOUND/AUTH (Telnyx refused it: not carried out),
 * PB_TX_LIMITED (429: refused by the limiter before any action, as the
 * official SDKs treat it when they retry a POST; every client of the
 * process now waits out the window before its next request),
 * PB_TX_UNAVAILABLE (no answer, 5xx, 408: its fate is unknown),
 * PB_TX_ABORTED (not sent). */
pb_tx_rc_t pb_telnyx_action(pb_telnyx_t *tx, const char *method, const char *id, const char *suffix,
                            const char *json_body, pb_tx_answer_t *a, char *errstr, size_t errsz);

/* GET /portouts/{id}/comments: *out is the parsed answer ({"data": [...]}). */
pb_tx_rc_t pb_telnyx_list_comments(pb_telnyx_t *tx, const char *id, struct json_object **out,
                                   char *errstr, size_t errsz);

/* GET one event; *body is the JSON response ({"data": {...}}). An id that
 * is not pb_telnyx_id_valid() is PB_TX_REJECTED before any request. */
pb_tx_rc_t pb_telnyx_get_event(pb_telnyx_t *tx, const char *id, char **body, size_t *len,
                               char *errstr, size_t errsz);

/* GET one page of the event list; *page_out is the parsed response
 * ({"data": [...], "meta": {...}}), owned by the caller (json_object_put).
 * If raw is not NULL, *raw gets the page's bytes (the caller frees them;
 * pb_normalize_parsed reads both). If jc is not NULL it keeps the check of
 * those bytes (set jc->want_items for the elements' spans; the caller frees
 * it with pb_jcheck_free() whatever the answer), which pb_normalize_parsed
 * then need not repeat; and a page that can be read from those spans
 * (pb_json_page_by_spans) is not parsed: *page_out NULL, PB_TX_OK. */
pb_tx_rc_t pb_telnyx_list_events(pb_telnyx_t *tx, const pb_event_filter_t *f, long page, long size,
                                 struct json_object **page_out, char **raw, size_t *raw_len,
                                 pb_jcheck_t *jc, char *errstr, size_t errsz);

/* POST .../republish; Telnyx answers 204. The id is checked as for get. */
pb_tx_rc_t pb_telnyx_republish(pb_telnyx_t *tx, const char *id, char *errstr, size_t errsz);

/* HTTP requests made so far (retries included). */
uint64_t pb_telnyx_request_count(const pb_telnyx_t *tx);

/* Telnyx's clock: the Date of the last response plus the monotonic time
 * since (1 s resolution). Returns 0 and sets *out_us, or -1 if no response
 * carried a Date yet. Polling windows are Telnyx time, never the host's. */
int pb_telnyx_server_time_us(const pb_telnyx_t *tx, int64_t *out_us);

/* --- pure helpers, exposed for tests --- */

/* Builds the list URL with bracketed, URL-encoded query parameters. Returns a
 * malloc'd string. */
char *pb_telnyx_list_url(const char *base, const char *path, const pb_event_filter_t *f, long page,
                         long size);

/* Percent-encodes everything but RFC 3986 unreserved characters. Returns a
 * malloc'd string. */
char *pb_url_encode(const char *s);

/* Delay before retry number attempt (0-based). Server hints, in order:
 * retry_after_ms, retry_after (seconds or HTTP date, relative to now_s),
 * ratelimit_reset (seconds); each may be NULL. Otherwise base*2^attempt
 * capped at max, with jitter from rnd: a value in [d/2, d]. Server hints are
 * capped at 10 minutes. */
int64_t pb_retry_delay_ms(int attempt, int64_t base_ms, int64_t max_ms, const char *retry_after_ms,
                          const char *retry_after, const char *ratelimit_reset, int64_t now_s,
                          uint32_t rnd);

/* Extracts "code: detail" from a Telnyx error envelope ({"errors": [{code,
 * title, detail|description}]}) into out. Returns 0, or -1 if it is not one. */
int pb_telnyx_error_text(const char *body, size_t len, char *out, size_t outsz);

#endif

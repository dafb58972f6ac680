/* Normalizer: Telnyx port-out event bytes -> CloudEvents 1.0 envelopes.
 *
 * Pure: no I/O, no clock, no globals. The receive time and ingest path come in
 * through pb_ingest_t, so the same input gives the same envelope.
 *
 * Accepted shapes (detected, not declared):
 *   - a REST event record            {"id", "event_type", "portout_id", ...}
 *   - a REST show response           {"data": {record}}
 *   - a REST list response           {"data": [record, ...], "meta": {...}}
 *   - a webhook delivery             {"data": {..., "record_type": "event"},
 *                                     "meta": {"attempt", "delivered_to"}}
 * The envelope format is documented in docs/envelope.md.
 *
 * Ownership: pb_normalize() returns a pb_batch_t the caller frees with
 * pb_batch_free(); its items, envelopes and strings belong to it. */
#ifndef PB_NORMALIZE_H
#define PB_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

/* How an event reached the bridge. */
typedef enum pb_ingest_path {
        PB_INGEST_FILE = 0, /* replay/normalize of a file */
        PB_INGEST_WEBHOOK,  /* signed HTTP POST from Telnyx */
        PB_INGEST_REST      /* GET /v2/portouts/events[/{id}] */
} pb_ingest_path_t;

typedef struct pb_ingest {
        pb_ingest_path_t path;
        int64_t received_us; /* receive time, microseconds since the epoch */
} pb_ingest_t;

struct json_tokener;

typedef struct pb_norm_opts {
        const char *source; /* CloudEvents source attribute */
        /* Optional: a parser to reuse (reset before each document; the
         * caller owns it and uses it from one thread). NULL: one per call.
         * Allocating json-c's parser stack per document was 14% of a
         * replay's normalizing (a large-bin calloc consolidating the heap). */
        struct json_tokener *tok;
        /* Optional: members dropped or hashed in each event's data
         * (privacy.h); NULL or inactive: verbatim. */
        const struct pb_privacy *privacy;
        /* Take the json-c path even for the common case (tests and fuzzing
         * compare the two: they must give the same bytes). */
        int tree_only;
} pb_norm_opts_t;

/* One normalized event. Strings are NUL-terminated and owned by the batch. */
typedef struct pb_envelope {
        char *id;         /* Telnyx event id (CloudEvents id) */
        char *type;       /* "com.telnyx." + event_type */
        char *event_type; /* Telnyx event type, e.g. "portout.status_changed" */
        char *portout_id; /* subject, partitionkey and Kafka key */
        char *source;
        char *time;         /* RFC 3339 UTC */
        char *received;     /* receive time, RFC 3339 UTC */
        const char *ingest; /* "file", "webhook" or "rest" (static) */
        char *json;         /* the serialized envelope (structured mode) */
        size_t json_len;
        size_t data_off;       /* json + data_off: the "data" object's bytes */
        size_t data_len;       /* (the value in binary mode) */
        uint64_t payload_hash; /* pb_hash64 of the payload as written, never 0: two copies of an
                                  event id with different payloads differ here */
        int64_t created_us;    /* Telnyx's created_at (REST records), 0 if absent:
                                * the poll checkpoint is Telnyx time, never ours */
} pb_envelope_t;

/* One input event: an envelope, or the reason it was rejected. */
typedef struct pb_norm_item {
        pb_envelope_t *env; /* NULL when rejected */
        char *error;        /* rejection reason naming the field; NULL if ok */
        /* The event's own bytes, for the dead-letter topic; a rejected item's
         * with the privacy policy applied (pb_privacy_scrub: they leave the
         * bridge as they are, and are what names the rejection) */
        char *raw;
        size_t raw_len;
        int redacted;         /* the policy changed a rejected item's raw */
        const char *dl_stage; /* a dead letter's pb_stage (static): NULL is "normalize" */
} pb_norm_item_t;

typedef struct pb_batch {
        pb_norm_item_t *items;
        size_t cnt;
        size_t rejected;
} pb_batch_t;

/* Normalizes one document (len bytes, need not be NUL-terminated). Input that
 * is not JSON or of no known shape gives one rejected item holding the whole
 * input; a list response gives one item per element (zero for an empty list).
 * Returns NULL only when out of memory. */
pb_batch_t *pb_normalize(const pb_norm_opts_t *opts, const char *buf, size_t len,
                         const pb_ingest_t *ingest);

struct json_object;
struct pb_jcheck;

/* The same for a document already parsed with json-c (root is borrowed, not
 * freed). With its bytes raw/raw_len (a REST page) they are checked once, as
 * pb_normalize() checks them (or checked says how they fared: a
 * pb_json_check() of exactly those bytes with want_items, borrowed), each
 * list element normalized from its own bytes where it can be and json-c's
 * tree read for the rest: the same items as pb_normalize(raw) (a text only
 * json-c's lenient reading takes, NaN say, is refused whole by both, here
 * with the check's reason, there with json-c's strict one). root NULL
 * (a page the client did not parse: pb_json_page_by_spans): the tree is
 * built here (pb_json_parse) only if an element needs it. raw NULL: root
 * alone, re-serialized only if a rejection needs its bytes. */
pb_batch_t *pb_normalize_parsed(const pb_norm_opts_t *opts, struct json_object *root,
                                const char *raw, size_t raw_len, const struct pb_jcheck *checked,
                                const pb_ingest_t *ingest);

/* Frees a batch and everything in it. */
void pb_batch_free(pb_batch_t *b);

/* Name of an ingest path: "file", "webhook", "rest". */
const char *pb_ingest_name(pb_ingest_path_t p);

/* Longest accepted event id / portout_id, in bytes. */
#define PB_MAX_ID_LEN 256

#endif

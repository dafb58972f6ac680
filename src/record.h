/* Record: the Kafka form of every record the bridge writes, both ways. The
 * only module that knows the CloudEvents header set (the Kafka protocol
 * binding's ce_ headers), the content modes, the dead-letter headers
 * (pb_*), the {"raw_base64":...} wrap, the state record, and the trace
 * context headers. docs/envelope.md describes what it writes.
 *
 * Building: pb_record_event(), pb_record_rejected(), pb_record_refused(),
 * pb_record_state() and pb_record_deadline() fill a pb_record_out_t: a pb_record_t ready for the
 * producer, its headers, and any value built for it (freed by
 * pb_record_out_clear()). Strings are borrowed from the arguments, which
 * must outlive the pb_record_t's use (pb_producer_send() copies).
 *
 * Reading: pb_record_read() gives a record's id and attributes from any
 * content mode, for the topics' readers (reconcile, index, state, show).
 *
 * Pure but for SHA-256: no I/O, no clock, no globals. */
#ifndef PB_RECORD_H
#define PB_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "deadline.h"
#include "normalize.h"
#include "trace.h"

struct pb_privacy;

typedef struct pb_header {
        const char *name;
        const char *value;
} pb_header_t;

/* Where a record came from, for its dead-letter headers. */
typedef struct pb_provenance {
        const char *ingest;   /* "file", "webhook", "rest" */
        const char *received; /* RFC 3339 receive time */
        const char *origin;   /* e.g. "events.ndjson:12"; may be NULL */
} pb_provenance_t;

/* A record to produce. raw/raw_len are the original input bytes a dead
 * letter holds if Kafka refuses the record permanently (NULL: value). */
typedef struct pb_record {
        const char *topic;
        const char *key; /* may be NULL */
        size_t key_len;
        const char *value;
        size_t value_len;
        const pb_header_t *headers;
        size_t headers_cnt;
        const char *raw;
        size_t raw_len;
        pb_provenance_t prov;
        /* The event's id (may be NULL): a dead letter of the record names
         * the event by it in every content mode, so that the topics'
         * readers know the event is there. */
        const char *id;
} pb_record_t;

/* Most headers a record built here has. */
#define PB_RECORD_MAX_HEADERS 24

/* A built record: rec points into hdr and into the builder's arguments. */
typedef struct pb_record_out {
        pb_record_t rec;
        pb_header_t hdr[PB_RECORD_MAX_HEADERS];
        char *owned;     /* a value built for the record (wrap, prefix), or NULL */
        char *scrubbed;  /* the input with the privacy policy applied, or NULL */
        char sha256[65]; /* a cut value's whole: its hash and size */
        char bytes[24];
        char state_id[PB_MAX_ID_LEN * 2 + 2];
} pb_record_out_t;

/* Frees what a builder allocated for o (idempotent). */
void pb_record_out_clear(pb_record_out_t *o);

/* envelope.kafka_mode: the CloudEvents Kafka binding's content mode (the
 * option's choices, config.c, are in this order). */
enum pb_kafka_mode {
        PB_KAFKA_MODE_STRUCTURED = 0,   /* envelope value, plus ce_* headers */
        PB_KAFKA_MODE_STRUCTURED_NOHDR, /* envelope value, content-type only */
        PB_KAFKA_MODE_BINARY,           /* data value, attributes in ce_* headers */
};

/* The event record of e in mode (enum pb_kafka_mode), for topic: keyed by its port-out id, the
 * CloudEvents headers of the mode, traceparent/tracestate of tr (NULL:
 * none). raw is the input's bytes, for a dead letter if Kafka refuses it. */
void pb_record_event(pb_record_out_t *o, const pb_envelope_t *e, int mode, const char *topic,
                     const pb_trace_t *tr, const pb_provenance_t *prov, const char *raw,
                     size_t raw_len);

/* The dead letter of input the bridge cannot use (stage "normalize"), or of
 * a copy that conflicts with a delivered event ("conflict"): its bytes,
 * the privacy policy already on them (redacted: it changed them), as they
 * came if they are publishable JSON, else wrapped ({"raw_base64":...}).
 * Returns 0, or -1 out of memory. */
int pb_record_rejected(pb_record_out_t *o, const char *topic, const char *stage, const char *error,
                       const char *raw, size_t raw_len, int redacted, const pb_provenance_t *prov,
                       const pb_trace_t *tr);

/* A record Kafka refused for good, as the producer holds it. */
typedef struct pb_refusal {
        const pb_record_t *rec; /* as it was sent (its headers, raw, id, prov) */
        const char *error_code; /* librdkafka's error name */
        const char *reason;     /* its words */
        int cut;                /* send a prefix: the whole was (or would be) too large */
} pb_refusal_t;

/* What the producer sends instead of a refused record: the dead letter of
 * stage "produce" to topic, its value the input's bytes with the privacy
 * policy applied (or a wrapped PB_RECORD_PREFIX_BYTES prefix when cut, with
 * the whole's hash and size), the refused record's headers but its
 * content-type, and the reason. Returns 0, or -1 out of memory (try again
 * later). */
int pb_record_refused(pb_record_out_t *o, const char *topic, const struct pb_privacy *privacy,
                      const pb_refusal_t *r);

/* A dead letter refused for its size is sent again with this much of its
 * value. */
#define PB_RECORD_PREFIX_BYTES 8192

/* CloudEvents type of the state record. */
#define PB_STATE_TYPE "com.telnyx.portout.state"

/* The state record of port-out portout_id at updated_at: value is its
 * envelope (pb_record_state_value()), cause the id of the event that caused
 * the fetch ("resync" for a resync), traceparent/tracestate that event's
 * record's (NULL: none). */
void pb_record_state(pb_record_out_t *o, const char *topic, const char *source,
                     const char *portout_id, const char *updated_at, const char *cause,
                     const char *traceparent, const char *tracestate, const char *value,
                     size_t value_len);

struct json_object;

/* The state record's value: a structured CloudEvent of type PB_STATE_TYPE
 * whose data is resource (borrowed). NULL out of memory; the caller frees. */
char *pb_record_state_value(struct json_object *resource, const char *portout_id,
                            const char *updated_at, const char *cause, const char *source,
                            size_t *len);

/* The deadline event of port-out portout_id crossing threshold_s (deadline.h:
 * its id is derived from the pair), at time (created_at + threshold_s);
 * value is pb_record_deadline_value()'s. */
void pb_record_deadline(pb_record_out_t *o, const char *topic, const char *source,
                        const char *portout_id, int64_t threshold_s, const char *time,
                        const char *value, size_t value_len);

/* The deadline event's value: a structured CloudEvent of type
 * PB_DEADLINE_TYPE whose data is {portout_id, threshold_s, age_s,
 * auto_authorize_at, portout}, portout the doc_len bytes of portout_doc
 * (JSON as the state record holds the resource; NULL: null). NULL out of
 * memory; the caller frees. */
char *pb_record_deadline_value(const char *portout_doc, size_t doc_len, const char *portout_id,
                               int64_t threshold_s, int64_t age_s, const char *time,
                               const char *auto_authorize_at, const char *source, size_t *len);

/* CloudEvents type of a desk command's result (desk_command.h). */
#define PB_COMMAND_RESULT_TYPE "com.telnyx.portout.command_result"

/* The result record of a desk command: id result_id, keyed by portout_id
 * ("" if the command named none: no key), at time (when it was decided),
 * the header pb_command_ref (the command record's "<partition>:<offset>"),
 * value pb_record_command_result_value()'s. */
void pb_record_command_result(pb_record_out_t *o, const char *topic, const char *source,
                              const char *portout_id, const char *result_id, const char *time,
                              const char *ref, const char *value, size_t value_len);

/* Its value: a structured CloudEvent of type PB_COMMAND_RESULT_TYPE whose
 * data is the data_len bytes of data (JSON: pb_command_result_data()). NULL
 * out of memory; the caller frees. */
char *pb_record_command_result_value(const char *data, size_t data_len, const char *result_id,
                                     const char *portout_id, const char *time, const char *source,
                                     size_t *len);

/* Room for pb_record_reject_id(): "sha256:" and 64 hex digits. */
#define PB_RECORD_REJECT_ID_LEN (7 + 64)

/* The id of a rejected input, which has none of its own: "sha256:" and the
 * hex SHA-256 of its bytes. The pipeline names a rejection by it, and the
 * readers of the topics recognize its dead letter by it. out must hold
 * PB_RECORD_REJECT_ID_LEN + 1 bytes. */
void pb_record_reject_id(const void *bytes, size_t len, char *out);

/* --- reading --- */

typedef enum pb_record_kind {
        PB_RECORD_UNKNOWN = 0, /* not a record of this bridge */
        PB_RECORD_EVENT,
        PB_RECORD_DEAD_LETTER,
        PB_RECORD_STATE,
        PB_RECORD_DEADLINE,
        PB_RECORD_COMMAND_RESULT,
} pb_record_kind_t;

/* What a record says of itself; fields absent from it are "". */
typedef struct pb_record_view {
        pb_record_kind_t kind;
        char id[512]; /* ce_id; a rejection's "sha256:..." */
        /* ce_type ("" for a dead letter): "com.telnyx." and an event type
         * as long as normalize accepts (160 cut longer ones: fuzz_record) */
        char type[16 + PB_MAX_ID_LEN];
        char subject[PB_MAX_ID_LEN + 1];
        char time[64]; /* ce_time; a dead letter's receive time */
        char ingest[16];
        char cause[512];                          /* a state record's causationid */
        char stage[16];                           /* a dead letter's pb_stage */
        char error[256];                          /* and pb_error */
        char traceparent[PB_TRACEPARENT_LEN + 1]; /* "" if absent or invalid */
        char tracestate[PB_TRACESTATE_MAX + 1];
} pb_record_view_t;

/* A record's header by name (the last of that name): 0 with *v, *vl set,
 * or -1 if absent. */
typedef int(pb_header_get_fn)(void *ctx, const char *name, const void **v, size_t *vl);

/* Reads a record (value, len; headers through get) into out. Attributes
 * come from the ce_ headers, else from a structured envelope's members. */
void pb_record_read(const char *value, size_t len, pb_header_get_fn *get, void *ctx,
                    pb_record_view_t *out);

/* A pb_header_get_fn over a built record (ctx: a const pb_record_t *), so
 * that what was built can be read back as Kafka would hand it over. */
int pb_record_header_get(void *ctx, const char *name, const void **v, size_t *vl);

struct rd_kafka_message_s;

/* pb_record_read() of a consumed librdkafka message. */
void pb_record_read_kafka(const struct rd_kafka_message_s *m, pb_record_view_t *out);

#endif

/* Trace context (W3C Trace Context Level 1): the traceparent of a webhook's
 * request, checked, and the bridge's own span of an event's work.
 *
 * Every event gets a pb_trace_t: its trace id is the caller's when the
 * webhook carried a valid traceparent, else a new random one; its span id
 * is always new. The records written for the event carry traceparent
 * "00-<trace id>-<span id>-<flags>": the bridge's span is the parent of
 * whatever consumes them. Pure but for pb_trace_start()'s random ids. */
#ifndef PB_TRACE_H
#define PB_TRACE_H

#include <stddef.h>
#include <stdint.h>

/* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define PB_TRACEPARENT_LEN 55
/* tracestate is at most 32 list members of at most 256 bytes each by the
 * spec; the bridge passes on at most this many bytes and drops a longer one
 * (the spec allows dropping it whole). */
#define PB_TRACESTATE_MAX 512

typedef struct pb_trace {
        uint8_t trace_id[16];
        uint8_t parent_id[8]; /* the caller's span; all zero if none */
        uint8_t span_id[8];   /* the bridge's span for this event */
        uint8_t flags;        /* trace-flags (bit 0: sampled) */
        int has_parent;
        char traceparent[PB_TRACEPARENT_LEN + 1]; /* to write: the bridge's span as parent */
        char tracestate[PB_TRACESTATE_MAX + 1];   /* passed on verbatim, "" if none */
        char trace_id_hex[33];                    /* for log lines */
} pb_trace_t;

/* What a span of the trace needs, compact (kept per event in flight). */
typedef struct pb_trace_ids {
        uint8_t trace_id[16], span_id[8], parent_id[8];
        uint8_t has_parent;
        char trace_id_hex[33];
} pb_trace_ids_t;

/* Copies t's ids into out. */
void pb_trace_ids(const pb_trace_t *t, pb_trace_ids_t *out);

/* Reads a traceparent header (and a tracestate, which may be NULL) into
 * out's trace id, parent id, flags and tracestate. Returns 0, or -1 if the
 * value is not a valid version-00 (or later-version) traceparent: then out
 * is untouched and the caller starts a new trace. Never logs. */
int pb_trace_parse(const char *traceparent, const char *tracestate, pb_trace_t *out);

/* Starts the bridge's span: a new span id, and a new trace id (sampled) when
 * t holds no parent (t zeroed, or a failed parse). Formats traceparent and
 * trace_id_hex. */
void pb_trace_start(pb_trace_t *t);

/* The trace of one event: the caller's (traceparent/tracestate, may be
 * NULL) when valid, else a new one; then pb_trace_start(). t need not be
 * initialized. */
void pb_trace_begin(pb_trace_t *t, const char *traceparent, const char *tracestate);

/* 1 if s (len bytes) is a valid traceparent: the check pb_trace_parse()
 * applies, for readers of records. */
int pb_traceparent_valid(const char *s, size_t len);

#endif

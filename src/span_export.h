/* Span export: the bridge's span of each event, sent to an OpenTelemetry
 * collector as OTLP/HTTP with JSON encoding (POST <endpoint>, normally
 * .../v1/traces), batched on a thread of its own.
 *
 * Bounds: at most PB_SPAN_QUEUE spans wait; pb_span_export_add() never
 * blocks nor does I/O: a full queue drops the span, and a batch the
 * collector does not take (down, slow past its timeout, an error answer) is
 * dropped, both counted (portout_bridge_trace_spans_total{outcome}). An
 * answer never waits for tracing.
 *
 * Threads: add() from any thread; one export thread of its own.
 * Ownership: pb_span_export_new()/pb_span_export_free(); add() copies. */
#ifndef PB_SPAN_EXPORT_H
#define PB_SPAN_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "trace.h"

#define PB_SPAN_QUEUE 8192
#define PB_SPAN_BATCH 512

/* One finished span: an event's work, from receipt to its fate. */
typedef struct pb_span {
        uint8_t trace_id[16], span_id[8], parent_id[8];
        int has_parent;
        int64_t start_us, end_us; /* wall clock, microseconds since the epoch */
        const char *ingest;       /* "webhook", "rest", "file" (static) */
        const char *outcome;      /* "delivered", ... (static) */
        int error;                /* the outcome is a failure: status ERROR */
        int answer;               /* the HTTP status a webhook was answered, 0 if none */
        int32_t partition;
        int64_t offset;
        char event_id[257]; /* an event id is at most 256 bytes (normalize.h) */
        char event_type[64];
        char topic[256];
} pb_span_t;

typedef struct pb_span_export pb_span_export_t;

/* Starts the exporter for url (the full OTLP/HTTP traces URL). headers:
 * extra request headers "Name: value", NULL-terminated (may be NULL;
 * copied): a collector's credentials, never logged. metrics may be NULL (a
 * one-shot command: the counts are logged at the end, if any was dropped).
 * Returns NULL with errstr set. */
pb_span_export_t *pb_span_export_new(const char *url, const char *const *headers,
                                     const char *service_version, pb_metrics_t *metrics,
                                     char *errstr, size_t errsz);

/* Queues n spans (copied); drops and counts what does not fit. */
void pb_span_export_add(pb_span_export_t *x, const pb_span_t *spans, size_t n);

/* Sends what is queued within grace_ms, stops the thread, frees x. */
void pb_span_export_free(pb_span_export_t *x, int grace_ms);

/* The OTLP/JSON ExportTraceServiceRequest of spans[0..n) (ids as hex, as
 * OTLP/JSON has them); the caller frees it. NULL out of memory. Exposed
 * for its tests. */
char *pb_span_export_json(const pb_span_t *spans, size_t n, const char *service_version);

/* The traces URL an operator configured: option (tracing.otlp_endpoint, a
 * base URL: "/v1/traces" is appended), else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
 * (as is), else OTEL_EXPORTER_OTLP_ENDPOINT (+ "/v1/traces"), through
 * lookup; writes it to out and returns 1, or 0 if none is set. */
int pb_span_export_url(const char *option, const char *(*lookup)(const char *name), char *out,
                       size_t outsz);

#endif

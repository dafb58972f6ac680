/* Metrics: counters, gauges and one latency histogram, rendered in the
 * Prometheus text format for GET /metrics. Families are declared in one table
 * (metrics.c) with their help text; series are created on first use, at most
 * PB_METRICS_MAX_SERIES of them. Thread-safe.
 * Ownership: pb_metrics_new()/pb_metrics_free(); render returns a malloc'd
 * string the caller frees. */
#ifndef PB_METRICS_H
#define PB_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PB_METRICS_MAX_SERIES 512

typedef struct pb_metrics pb_metrics_t;

/* Creates an empty registry. */
pb_metrics_t *pb_metrics_new(void);

/* Frees it. */
void pb_metrics_free(pb_metrics_t *m);

/* Adds by to a counter series; labels is the inside of {} or NULL. Label
 * values are escaped by the caller with pb_metrics_label(). */
void pb_metrics_add(pb_metrics_t *m, const char *family, const char *labels, int64_t by);

/* Sets a gauge series. */
void pb_metrics_set(pb_metrics_t *m, const char *family, const char *labels, int64_t value);

/* Records one request-to-acknowledgement duration. */
void pb_metrics_observe_ack(pb_metrics_t *m, double seconds);

/* Formats name="value" with the value escaped for the text format. */
void pb_metrics_label(char *out, size_t outsz, const char *name, const char *value);

/* Renders every family; *len gets the length. */
char *pb_metrics_render(pb_metrics_t *m, size_t *len);

/* Prints the reference of every family (Markdown table: name, type,
 * labels, meaning), generated from the table that renders them. */
void pb_metrics_print_reference(FILE *out);

/* Returns a counter/gauge's value (0 if the series does not exist). */
int64_t pb_metrics_get(pb_metrics_t *m, const char *family, const char *labels);

#endif

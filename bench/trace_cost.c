/* What trace context adds to each event's own work, isolated from the
 * machine's noise: the trace (pb_trace_begin) and the record built with its
 * two headers, then handed to librdkafka's header list as the producer does,
 * against the same record without them; ns per event, N events each, the
 * two alternated ROUNDS times. Measures, never fails.
 *   cmake --build build --target bench_trace_cost   (bench/tracing.sh does)
 *   build/bench_trace_cost [N] [ROUNDS]   (default 1000000, 5) */
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "normalize.h"
#include "record.h"
#include "trace.h"

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile size_t sink;

static double run(const pb_envelope_t *e, size_t n, int traced)
{
        pb_provenance_t prov = {"webhook", e->received, NULL};
        double t0 = now_s();
        for (size_t i = 0; i < n; i++) {
                pb_trace_t tr;
                if (traced)
                        pb_trace_begin(&tr, NULL, NULL);
                pb_record_out_t o;
                pb_record_event(&o, e, PB_KAFKA_MODE_STRUCTURED, "t", traced ? &tr : NULL, &prov,
                                e->json, e->json_len);
                rd_kafka_headers_t *h = rd_kafka_headers_new(o.rec.headers_cnt);
                for (size_t k = 0; k < o.rec.headers_cnt; k++)
                        rd_kafka_header_add(h, o.rec.headers[k].name, -1, o.rec.headers[k].value,
                                            -1);
                sink += rd_kafka_header_cnt(h);
                rd_kafka_headers_destroy(h);
        }
        return (now_s() - t0) / (double)n * 1e9;
}

int main(int argc, char **argv)
{
        size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
        int rounds = argc > 2 ? atoi(argv[2]) : 5;
        const char doc[] =
            "{\"data\":{\"event_type\":\"portout.status_changed\",\"id\":"
            "\"e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b\",\"occurred_at\":\"2026-03-05T12:30:45Z\","
            "\"payload\":{\"id\":\"5f0c2a1e-7b3d-4c8e-9a61-2d4e8f1b3c70\",\"status\":\"authorized\"},"
            "\"record_type\":\"event\"},\"meta\":{\"attempt\":1}}";
        pb_norm_opts_t no = {"https://api.telnyx.com/v2/portouts", NULL, NULL, 0};
        pb_ingest_t ing = {PB_INGEST_WEBHOOK, INT64_C(1772668800000000)};
        pb_batch_t *b = pb_normalize(&no, doc, strlen(doc), &ing);
        if (!b || !b->items[0].env)
                return 1;
        printf("%-6s %14s %14s %10s\n", "round", "ns/event off", "ns/event on", "added");
        for (int r = 1; r <= rounds; r++) {
                double off = run(b->items[0].env, n, 0), on = run(b->items[0].env, n, 1);
                printf("%-6d %14.0f %14.0f %10.0f\n", r, off, on, on - off);
        }
        pb_batch_free(b);
        return 0;
}

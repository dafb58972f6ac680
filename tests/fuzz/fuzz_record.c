/* Fuzz target: record.c, both ways. The input is read as a Telnyx document:
 * every envelope it gives is built as a record in each content mode and
 * read back, every rejection as its dead letter and read back; the
 * attributes read must be the ones written (id, type, subject, time, ingest
 * path, traceparent) and a dead letter's id the rejection's own name. Then
 * the input itself is read as a record (headers "name=value" lines, a blank
 * line, the value): whatever it holds, a traceparent read is a valid one
 * and equal to the header, an event has an id, and so has a dead letter of
 * a stage that names it by its bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "normalize.h"
#include "record.h"
#include "trace.h"

#define get pb_record_header_get

static void check_event(const pb_envelope_t *e, const pb_trace_t *tr)
{
        pb_provenance_t prov = {"webhook", e->received, NULL};
        for (int mode = 0; mode < 3; mode++) {
                pb_record_out_t o;
                pb_record_event(&o, e, mode, "t", tr, &prov, e->json, e->json_len);
                pb_record_view_t v;
                pb_record_read(o.rec.value, o.rec.value_len, get, &o.rec, &v);
                if (v.kind != PB_RECORD_EVENT || strcmp(v.id, e->id) || strcmp(v.type, e->type) ||
                    strcmp(v.subject, e->portout_id) || strcmp(v.time, e->time) ||
                    strcmp(v.ingest, e->ingest) || strcmp(v.traceparent, tr->traceparent))
                        abort();
                pb_record_out_clear(&o);
        }
}

static void check_rejected(const pb_norm_item_t *it, const pb_trace_t *tr)
{
        pb_provenance_t prov = {"file", "2026-01-01T00:00:00Z", "f:1"};
        pb_record_out_t o;
        if (pb_record_rejected(&o, "t.dlq", it->dl_stage, it->error, it->raw, it->raw_len,
                               it->redacted, &prov, tr))
                return; /* out of memory */
        char want[PB_RECORD_REJECT_ID_LEN + 1];
        pb_record_reject_id(it->raw, it->raw ? it->raw_len : 0, want);
        pb_record_view_t v;
        pb_record_read(o.rec.value, o.rec.value_len, get, &o.rec, &v);
        if (v.kind != PB_RECORD_DEAD_LETTER || strcmp(v.id, want) ||
            strcmp(v.traceparent, tr->traceparent))
                abort();
        pb_record_out_clear(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        pb_trace_t tr;
        memset(&tr, 0, sizeof(tr));
        pb_trace_start(&tr);
        pb_norm_opts_t no = {"https://api.telnyx.com/v2/portouts", NULL, NULL, 0};
        pb_ingest_t ing = {PB_INGEST_WEBHOOK, INT64_C(1772668800000000)};
        pb_batch_t *b = pb_normalize(&no, (const char *)data, size, &ing);
        for (size_t i = 0; b && i < b->cnt; i++) {
                if (b->items[i].env)
                        check_event(b->items[i].env, &tr);
                else
                        check_rejected(&b->items[i], &tr);
        }
        pb_batch_free(b);

        /* The input as a record of someone else's. */
        char *copy = malloc(size + 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        copy[size] = '\0';
        pb_header_t h[16];
        size_t nh = 0;
        char *p = copy, *end = copy + size;
        while (p < end && nh < 16) {
                char *nl = memchr(p, '\n', (size_t)(end - p));
                if (!nl || nl == p)
                        break;
                *nl = '\0';
                char *eq = strchr(p, '=');
                if (eq) {
                        *eq = '\0';
                        h[nh++] = (pb_header_t){p, eq + 1};
                }
                p = nl + 1;
        }
        if (p < end && *p == '\n')
                p++;
        pb_record_t r = {.headers = h, .headers_cnt = nh};
        pb_record_view_t v;
        pb_record_read(p, (size_t)(end - p), get, &r, &v);
        if (v.traceparent[0]) {
                const void *tv;
                size_t tl;
                if (!pb_traceparent_valid(v.traceparent, strlen(v.traceparent)) ||
                    get(&r, "traceparent", &tv, &tl) || strcmp(tv, v.traceparent))
                        abort();
        }
        /* An event is one by its id; a dead letter of a stage the bridge
         * writes without ce_id (normalize, conflict) is named by its bytes.
         * Someone else's record with another pb_stage may have neither. */
        if (v.kind == PB_RECORD_EVENT && !v.id[0])
                abort();
        if (v.kind == PB_RECORD_DEAD_LETTER && !v.id[0] &&
            (!strcmp(v.stage, "normalize") || !strcmp(v.stage, "conflict")))
                abort();
        free(copy);
        return 0;
}

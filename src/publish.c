#include "publish.h"

#include <string.h>

#include "route.h"

#define CE_CONTENT_TYPE "application/cloudevents+json; charset=UTF-8"

void pb_publish_count(pb_metrics_t *m, const pb_delivery_t *d, int rejected)
{
        char labels[256];
        if (!m)
                return;
        if (d->fate == PB_FATE_FAILED) {
                pb_metrics_label(labels, sizeof(labels), "error", pb_producer_err_name(d->err));
                pb_metrics_add(m, "portout_bridge_delivery_failures_total", labels, 1);
                return;
        }
        pb_metrics_label(labels, sizeof(labels), "topic", d->topic ? d->topic : "");
        pb_metrics_add(m, "portout_bridge_events_published_total", labels, 1);
        if (d->fate == PB_FATE_DEAD_LETTERED || rejected)
                pb_metrics_add(m, "portout_bridge_events_dead_lettered_total",
                               rejected ? "stage=\"normalize\"" : "stage=\"produce\"", 1);
}

const char *pb_publish_topic(const pb_config_t *cfg, const pb_norm_item_t *it)
{
        return it->env ? pb_route_topic(cfg, it->env->event_type) : cfg->topic_dead_letter;
}

int pb_publish_item(pb_producer_t *p, const pb_config_t *cfg, const pb_norm_item_t *it,
                    const pb_origin_t *origin, pb_done_fn *cb, void *opaque, int timeout_ms,
                    char *errstr, size_t errsz)
{
        pb_record_t rec = {0};
        const pb_envelope_t *e = it->env;
        rec.topic = pb_publish_topic(cfg, it);
        if (e) {
                /* Structured mode plus the ce_ headers, so consumers can route
                 * and filter without parsing the value. */
                pb_header_t h[] = {
                    {"content-type", CE_CONTENT_TYPE},
                    {"ce_specversion", "1.0"},
                    {"ce_id", e->id},
                    {"ce_source", e->source},
                    {"ce_type", e->type},
                    {"ce_subject", e->portout_id},
                    {"ce_time", e->time},
                    {"ce_partitionkey", e->portout_id},
                    {"ce_ingestpath", e->ingest},
                    {"ce_receivedat", e->received},
                };
                rec.key = e->portout_id;
                rec.key_len = strlen(e->portout_id);
                rec.value = e->json;
                rec.value_len = e->json_len;
                rec.headers = h;
                rec.headers_cnt = sizeof(h) / sizeof(h[0]);
                rec.raw = it->raw;
                rec.raw_len = it->raw_len;
                return pb_producer_send(p, &rec, cb, opaque, timeout_ms, errstr, errsz);
        }
        pb_header_t h[] = {
            {"pb_stage", "normalize"},
            {"pb_error", it->error ? it->error : "rejected"},
            {"pb_ingestpath", origin && origin->ingest ? origin->ingest : "unknown"},
            {"pb_receivedat", origin && origin->received ? origin->received : ""},
            {"pb_origin", origin && origin->where ? origin->where : ""},
        };
        rec.value = it->raw ? it->raw : "";
        rec.value_len = it->raw ? it->raw_len : 0;
        rec.headers = h;
        rec.headers_cnt = sizeof(h) / sizeof(h[0]);
        return pb_producer_send(p, &rec, cb, opaque, timeout_ms, errstr, errsz);
}

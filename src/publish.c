#include "publish.h"

#include <stdlib.h>
#include <string.h>

#include "deadletter.h"
#include "jsoncheck.h"
#include "pb.h"

#define CE_CONTENT_TYPE   "application/cloudevents+json; charset=UTF-8"
#define DATA_CONTENT_TYPE "application/json"

const char *pb_publish_route(const pb_config_t *cfg, const char *event_type)
{
        if (strcmp(event_type, "portout.status_changed") == 0)
                return cfg->topic_status_changed;
        if (strcmp(event_type, "portout.foc_date_changed") == 0)
                return cfg->topic_foc_date_changed;
        if (strcmp(event_type, "portout.new_comment") == 0)
                return cfg->topic_new_comment;
        return cfg->topic_other;
}

const char *pb_publish_topic(const pb_config_t *cfg, const pb_norm_item_t *it)
{
        return it->env ? pb_publish_route(cfg, it->env->event_type) : cfg->topic_dead_letter;
}

int pb_publish_item(pb_producer_t *p, const pb_config_t *cfg, const pb_norm_item_t *it,
                    const pb_provenance_t *prov, pb_done_fn *cb, void *opaque, int timeout_ms,
                    char *errstr, size_t errsz)
{
        pb_record_t rec;
        memset(&rec, 0, sizeof(rec));
        const pb_envelope_t *e = it->env;
        rec.topic = pb_publish_topic(cfg, it);
        rec.prov = *prov;
        if (e) {
                /* Structured mode plus the ce_ headers, so consumers can route
                 * and filter without parsing the value; or structured alone;
                 * or binary mode: the data as the value, the attributes (and
                 * datacontenttype as content-type) in the headers. */
                int mode = cfg->envelope_kafka_mode;
                pb_header_t h[] = {
                    {"content-type",
                     mode == PB_KAFKA_MODE_BINARY ? DATA_CONTENT_TYPE : CE_CONTENT_TYPE},
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
                rec.value = mode == PB_KAFKA_MODE_BINARY ? e->json + e->data_off : e->json;
                rec.value_len = mode == PB_KAFKA_MODE_BINARY ? e->data_len : e->json_len;
                rec.headers = h;
                rec.headers_cnt =
                    mode == PB_KAFKA_MODE_STRUCTURED_NOHDR ? 1 : sizeof(h) / sizeof(h[0]);
                rec.raw = it->raw;
                rec.raw_len = it->raw_len;
                rec.id = e->id;
                return pb_producer_send(p, &rec, cb, opaque, timeout_ms, errstr, errsz);
        }
        /* Every record is strict JSON in UTF-8, dead letters too: input that
         * is not (or that the bridge could not publish as sent) goes as
         * {"raw_base64":"..."}, said so in a header, its bytes intact. The
         * bytes are the item's, the privacy policy already on them
         * (normalize, the pipeline for a conflict): nothing derived from
         * what it removed goes beside them. */
        char *b64 = NULL;
        const char *raw = it->raw ? it->raw : "";
        size_t raw_len = it->raw ? it->raw_len : 0;
        pb_jcheck_t jc;
        memset(&jc, 0, sizeof(jc));
        if (pb_json_check(raw, raw_len, &jc) != 0) {
                b64 = pb_deadletter_wrap(raw, raw_len);
                if (!b64)
                        return pb_seterr(errstr, errsz, "out of memory"), PB_SEND_ERROR;
        }
        pb_deadletter_t dl = {it->dl_stage ? it->dl_stage : "normalize",
                              it->error,
                              NULL,
                              NULL,
                              *prov,
                              NULL,
                              NULL,
                              b64 ? PB_DL_ENCODING_JSON_BASE64 : NULL,
                              it->redacted ? "privacy" : NULL};
        pb_header_t h[PB_DL_MAX_HEADERS];
        rec.headers_cnt = pb_deadletter_headers(&dl, h);
        rec.headers = h;
        rec.value = b64 ? b64 : raw;
        rec.value_len = b64 ? strlen(b64) : raw_len;
        int rc = pb_producer_send(p, &rec, cb, opaque, timeout_ms, errstr, errsz);
        free(b64); /* the producer copies what it sends */
        return rc;
}

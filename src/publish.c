#include "publish.h"

#include <string.h>

#include "event_types.h"
#include "pb.h"

const char *pb_publish_route(const pb_config_t *cfg, const char *event_type)
{
        const pb_event_type_t *et = pb_event_type_find(event_type);
        return et ? cfg->topic_event[et - pb_event_types] : cfg->topic_other;
}

const char *pb_publish_topic(const pb_config_t *cfg, const pb_norm_item_t *it)
{
        return it->env ? pb_publish_route(cfg, it->env->event_type) : cfg->topic_dead_letter;
}

int pb_publish_item(pb_producer_t *p, const pb_config_t *cfg, const pb_norm_item_t *it,
                    const pb_provenance_t *prov, const pb_trace_t *tr, pb_done_fn *cb, void *opaque,
                    int timeout_ms, char *errstr, size_t errsz)
{
        pb_record_out_t o;
        if (it->env)
                pb_record_event(&o, it->env, cfg->envelope_kafka_mode,
                                pb_publish_route(cfg, it->env->event_type), tr, prov, it->raw,
                                it->raw_len);
        else if (pb_record_rejected(&o, cfg->topic_dead_letter, it->dl_stage, it->error, it->raw,
                                    it->raw_len, it->redacted, prov, tr))
                return pb_seterr(errstr, errsz, "out of memory"), PB_SEND_ERROR;
        int rc = pb_producer_send(p, &o.rec, cb, opaque, timeout_ms, errstr, errsz);
        pb_record_out_clear(&o); /* the producer copies what it sends */
        return rc;
}

int pb_publish_redirect(void *ctx, const pb_refusal_t *r, pb_record_out_t *out)
{
        const pb_config_t *cfg = ctx;
        return pb_record_refused(out, cfg->topic_dead_letter, cfg->privacy, r);
}

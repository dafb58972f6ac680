#include "kafka_topics.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pb.h"

#define ADMIN_TIMEOUT_MS 15000

int pb_kafka_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms,
                        rd_kafka_topic_partition_list_t *l, int64_t offset, char *errstr,
                        size_t errsz)
{
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        if (!rkt)
                return pb_seterr(errstr, errsz, "topic %s: %s", topic,
                                 rd_kafka_err2str(rd_kafka_last_error()));
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err =
            rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms > 0 ? timeout_ms : 1);
        int n = 0;
        if (err)
                n = pb_seterr(errstr, errsz, "topic %s: %s", topic, rd_kafka_err2str(err));
        else if (md->topic_cnt == 1 &&
                 md->topics[0].err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
                n = pb_seterr(errstr, errsz,
                              "topic %s: not authorized to describe it (the bridge's "
                              "principal needs DESCRIBE and READ on it; docs/operations.md)",
                              topic);
        else if (md->topic_cnt == 1 && !md->topics[0].err)
                for (; n < md->topics[0].partition_cnt; n++)
                        if (l)
                                rd_kafka_topic_partition_list_add(l, topic,
                                                                  md->topics[0].partitions[n].id)
                                    ->offset = offset;
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        return n;
}

/* Asks the cluster to create the topic: 0 created, 1 it exists, 2 not
 * authorized to create it, PB_ERR with why. */
static int create_topic(rd_kafka_t *rk, const char *topic, int partitions, int compacted,
                        char *errstr, size_t errsz)
{
        char e[256];
        rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, -1, e, sizeof(e));
        if (!nt)
                return pb_seterr(errstr, errsz, "topic %s: %s", topic, e);
        if (compacted && rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact") !=
                             RD_KAFKA_RESP_ERR_NO_ERROR) {
                rd_kafka_NewTopic_destroy(nt);
                return pb_seterr(errstr, errsz, "topic %s: cannot ask for compaction", topic);
        }
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *opts =
            rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        rd_kafka_AdminOptions_set_request_timeout(opts, ADMIN_TIMEOUT_MS, NULL, 0);
        rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 2000);
        int rc = 0;
        if (!ev) {
                rc = pb_seterr(errstr, errsz, "topic %s: no answer from Kafka", topic);
        } else if (rd_kafka_event_error(ev)) {
                rc = pb_seterr(errstr, errsz, "topic %s: %s", topic,
                               rd_kafka_event_error_string(ev));
        } else {
                size_t n;
                const rd_kafka_topic_result_t **res =
                    rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
                rd_kafka_resp_err_t terr = n ? rd_kafka_topic_result_error(res[0]) : 0;
                if (terr == RD_KAFKA_RESP_ERR_NO_ERROR)
                        pb_info("kafka: created the topic %s%s", topic,
                                compacted ? " (compacted)" : "");
                else if (terr == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                        rc = 1;
                else if (terr == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                         terr == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED)
                        rc = 2;
                else
                        rc = pb_seterr(errstr, errsz, "topic %s: %s", topic,
                                       rd_kafka_topic_result_error_string(res[0]));
        }
        if (ev)
                rd_kafka_event_destroy(ev);
        rd_kafka_AdminOptions_destroy(opts);
        rd_kafka_queue_destroy(q);
        rd_kafka_NewTopic_destroy(nt);
        return rc;
}

int pb_kafka_topic_config(rd_kafka_t *rk, const char *topic, const char *name, char *out,
                          size_t outsz, char *errstr, size_t errsz)
{
        rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *opts =
            rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
        rd_kafka_AdminOptions_set_request_timeout(opts, ADMIN_TIMEOUT_MS, NULL, 0);
        rd_kafka_DescribeConfigs(rk, &cr, 1, opts, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 2000);
        int rc = PB_ERR;
        if (!ev) {
                pb_seterr(errstr, errsz, "topic %s: no answer from Kafka", topic);
        } else if (rd_kafka_event_error(ev)) {
                pb_seterr(errstr, errsz, "topic %s: %s", topic, rd_kafka_event_error_string(ev));
        } else {
                size_t n = 0, ne = 0;
                const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(
                    rd_kafka_event_DescribeConfigs_result(ev), &n);
                if (n && rd_kafka_ConfigResource_error(rs[0])) {
                        pb_seterr(errstr, errsz, "topic %s: %s", topic,
                                  rd_kafka_ConfigResource_error_string(rs[0]));
                } else if (n) {
                        const rd_kafka_ConfigEntry_t **es =
                            rd_kafka_ConfigResource_configs(rs[0], &ne);
                        for (size_t i = 0; i < ne && rc; i++)
                                if (!strcmp(rd_kafka_ConfigEntry_name(es[i]), name)) {
                                        const char *v = rd_kafka_ConfigEntry_value(es[i]);
                                        snprintf(out, outsz, "%s", v ? v : "");
                                        rc = 0;
                                }
                        if (rc)
                                pb_seterr(errstr, errsz, "topic %s: no %s in its configuration",
                                          topic, name);
                }
        }
        if (ev)
                rd_kafka_event_destroy(ev);
        rd_kafka_AdminOptions_destroy(opts);
        rd_kafka_queue_destroy(q);
        rd_kafka_ConfigResource_destroy(cr);
        return rc;
}

int pb_kafka_ensure_topic(rd_kafka_t *rk, const char *topic, int partitions, int compacted,
                          char *errstr, size_t errsz)
{
        int made = create_topic(rk, topic, partitions, compacted, errstr, errsz);
        if (made < 0) {
                /* No answer to the creation: it may exist all the same (the
                 * metadata request is safe: our clients never auto-create). */
                char e[PB_ERRSZ];
                int n = pb_kafka_partitions(rk, topic, ADMIN_TIMEOUT_MS, NULL, 0, e, sizeof(e));
                if (n <= 0)
                        return PB_ERR;
                made = 1;
        }
        if (made == 2) { /* no CREATE: it must exist already */
                int n = pb_kafka_partitions(rk, topic, ADMIN_TIMEOUT_MS, NULL, 0, errstr, errsz);
                if (n < 0)
                        return PB_ERR;
                if (n == 0)
                        return pb_seterr(errstr, errsz,
                                         "topic %s does not exist and the bridge may not create "
                                         "it: create it%s, or grant CREATE on it "
                                         "(docs/operations.md)",
                                         topic, compacted ? " with cleanup.policy=compact" : "");
        }
        if (!compacted || made == 0)
                return 0;
        char policy[64], e[PB_ERRSZ];
        if (pb_kafka_topic_config(rk, topic, "cleanup.policy", policy, sizeof(policy), e,
                                  sizeof(e))) {
                pb_warn("kafka: cannot check that %s is compacted (%s): grant DESCRIBE_CONFIGS on "
                        "it to have it checked",
                        topic, e);
                return 0;
        }
        if (strstr(policy, "compact"))
                return 0;
        pb_seterr(errstr, errsz,
                  "topic %s has cleanup.policy=%s, but it must be compacted (its records are a "
                  "table, one per key; with delete it grows without end and loses what "
                  "retention drops): kafka-configs.sh --bootstrap-server ... --alter "
                  "--entity-type topics --entity-name %s --add-config cleanup.policy=compact",
                  topic, policy, topic);
        return PB_KAFKA_NOT_COMPACTED;
}

/* The index in l of m's partition, or -1. */
static int part_of(const rd_kafka_topic_partition_list_t *l, const rd_kafka_message_t *m)
{
        for (int k = 0; m->rkt && k < l->cnt; k++)
                if (l->elems[k].partition == m->partition &&
                    !strcmp(l->elems[k].topic, rd_kafka_topic_name(m->rkt)))
                        return k;
        return -1;
}

/* Transaction markers and aborted records take offsets and are never handed
 * over: where a partition's reading stands is librdkafka's position, which
 * moves past them (kafka_reconcile.c says more). */
static void take_positions(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l, const int64_t *hi)
{
        rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_copy(l);
        if (!rd_kafka_position(rk, pos))
                for (int i = 0; i < pos->cnt; i++)
                        if (pos->elems[i].offset > l->elems[i].offset)
                                l->elems[i].offset =
                                    pos->elems[i].offset < hi[i] ? pos->elems[i].offset : hi[i];
        rd_kafka_topic_partition_list_destroy(pos);
}

int pb_kafka_read_to_end(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *from,
                         int timeout_ms, const volatile sig_atomic_t *stop, pb_kafka_record_fn *fn,
                         void *ctx, _Atomic int64_t *total, char *errstr, size_t errsz)
{
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(from);
        int64_t *hi = calloc((size_t)l->cnt + 1, sizeof(*hi));
        if (!hi) {
                rd_kafka_topic_partition_list_destroy(l);
                return pb_seterr(errstr, errsz, "out of memory");
        }
        int rc = 0;
        int64_t sum = 0, until = pb_mono_ms() + timeout_ms;
        for (int i = 0; !rc && i < l->cnt; i++) {
                rd_kafka_topic_partition_t *p = &l->elems[i];
                int64_t lo;
                if (rd_kafka_query_watermark_offsets(rk, p->topic, p->partition, &lo, &hi[i],
                                                     timeout_ms))
                        rc = pb_seterr(errstr, errsz, "%s [%d]: its ends are unknown", p->topic,
                                       (int)p->partition);
                /* Absolute from here on: the position is then always known. */
                p->offset = p->offset == RD_KAFKA_OFFSET_END ? hi[i]
                            : p->offset < lo                 ? lo
                            : p->offset > hi[i]              ? hi[i]
                                                             : p->offset;
                sum += hi[i] - p->offset;
        }
        if (total)
                atomic_fetch_add(total, sum);
        if (!rc && l->cnt && rd_kafka_assign(rk, l))
                rc = pb_seterr(errstr, errsz, "cannot read %s", l->elems[0].topic);
        for (int i = 0; !rc;) {
                while (i < l->cnt && l->elems[i].offset >= hi[i])
                        i++;
                if (i == l->cnt)
                        break;
                if (stop && *stop) {
                        rc = pb_seterr(errstr, errsz, "stopped");
                } else if (pb_mono_ms() > until) {
                        rc = pb_seterr(errstr, errsz, "%s [%d] not read to its end in %d ms",
                                       l->elems[i].topic, (int)l->elems[i].partition, timeout_ms);
                } else {
                        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
                        if (!m)
                                take_positions(rk, l, hi);
                        int k = m ? part_of(l, m) : -1;
                        if (m && m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && k >= 0)
                                l->elems[k].offset = hi[k];
                        else if (m && m->err && k >= 0)
                                rc = pb_seterr(errstr, errsz, "%s", rd_kafka_message_errstr(m));
                        else if (m && m->err) /* the client's: it retries on its own */
                                pb_warn("kafka: reading %s: %s", l->elems[i].topic,
                                        rd_kafka_message_errstr(m));
                        else if (m && k >= 0)
                                l->elems[k].offset = m->offset + 1;
                        if (m && !m->err)
                                rc = fn(ctx, m, errstr, errsz);
                        if (m)
                                rd_kafka_message_destroy(m);
                        i = 0; /* any partition may have moved */
                }
        }
        rd_kafka_assign(rk, NULL);
        free(hi);
        rd_kafka_topic_partition_list_destroy(l);
        return rc ? PB_ERR : 0;
}

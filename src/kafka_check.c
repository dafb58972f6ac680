#include "kafka_check.h"

#include <string.h>

#include "kafka_acls.h"
#include "kafka_conf.h"
#include "kafka_producer.h"
#include "kafka_topics.h"
#include "log.h"
#include "pb.h"

#define CHECK_TIMEOUT_MS 10000

/* The last error librdkafka reported while connecting (error_cb). */
struct conn {
        char last[512];
        int err;
};

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
        (void)rk;
        struct conn *c = opaque;
        /* "all brokers down" follows the cause; keep the cause. */
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && c->err)
                return;
        c->err = err;
        snprintf(c->last, sizeof(c->last), "%s", reason);
}

static int has_op(const rd_kafka_AclOperation_t *ops, size_t n, rd_kafka_AclOperation_t want)
{
        for (size_t i = 0; i < n; i++)
                if (ops[i] == want || ops[i] == RD_KAFKA_ACL_OPERATION_ALL)
                        return 1;
        return 0;
}

/* Waits for one admin result on q, serving rk's errors meanwhile (error_cb
 * runs from rd_kafka_poll()); NULL with errstr on timeout. */
static rd_kafka_event_t *await(rd_kafka_t *rk, rd_kafka_queue_t *q, const char *what, char *errstr,
                               size_t errsz)
{
        rd_kafka_event_t *ev = NULL;
        int64_t until = pb_mono_ms() + CHECK_TIMEOUT_MS + 2000;
        while (!ev && pb_mono_ms() < until) {
                ev = rd_kafka_queue_poll(q, 100);
                rd_kafka_poll(rk, 0);
        }
        if (!ev)
                pb_seterr(errstr, errsz, "%s: no answer from Kafka", what);
        else if (rd_kafka_event_error(ev)) {
                pb_seterr(errstr, errsz, "%s: %s", what, rd_kafka_event_error_string(ev));
                rd_kafka_event_destroy(ev);
                ev = NULL;
        }
        return ev;
}

static rd_kafka_AdminOptions_t *opts_for(rd_kafka_t *rk, rd_kafka_admin_op_t op)
{
        rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
        rd_kafka_AdminOptions_set_request_timeout(o, CHECK_TIMEOUT_MS, NULL, 0);
        rd_kafka_error_t *e = rd_kafka_AdminOptions_set_include_authorized_operations(o, 1);
        if (e)
                rd_kafka_error_destroy(e);
        return o;
}

int pb_kafka_check_topic_row(const pb_topic_facts_t *f, FILE *out)
{
        if (f->err) {
                fprintf(out, "✗ topic %-40s %s%s\n", f->name,
                        rd_kafka_err2str((rd_kafka_resp_err_t)f->err),
                        f->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED
                            ? " (no DESCRIBE: missing, or no ACL for this principal)"
                            : " (create it; a broker that auto-creates topics would make it with "
                              "its defaults)");
                return 1;
        }
        /* A broker without an authorizer reports no operations: anything goes. */
        int w = f->ops_known ? f->can_write : 1, r = f->ops_known ? f->can_read : 1;
        int parts_bad = f->want_partitions > 0 && (int)f->partitions != f->want_partitions;
        int bad = (f->need_write && !w) || (f->need_read && !r) || parts_bad;
        const char *yes = f->ops_known ? "yes" : "yes (no authorizer)";
        fprintf(out, "%s topic %-40s %3zu partition(s)  write %s  read %s", bad ? "✗" : "✓",
                f->name, f->partitions, w ? yes : "no", r ? yes : "no");
        if (f->need_write && !w)
                fprintf(out, "  (needs WRITE)");
        if (f->need_read && !r)
                fprintf(out, "  (needs READ)");
        if (parts_bad)
                fprintf(out, "  (must have exactly %d: one poll leader)", f->want_partitions);
        fputc('\n', out);
        return bad;
}

/* One topic's row from its description; returns the number of problems. */
static int topic_row(const rd_kafka_TopicDescription_t *d, int need_write, int need_read,
                     int want_partitions, FILE *out)
{
        pb_topic_facts_t f;
        memset(&f, 0, sizeof(f));
        f.name = rd_kafka_TopicDescription_name(d);
        const rd_kafka_error_t *e = rd_kafka_TopicDescription_error(d);
        f.err = e ? (int)rd_kafka_error_code(e) : 0;
        size_t nops = 0;
        rd_kafka_TopicDescription_partitions(d, &f.partitions);
        const rd_kafka_AclOperation_t *ops =
            rd_kafka_TopicDescription_authorized_operations(d, &nops);
        f.ops_known = ops != NULL;
        f.can_write = ops && has_op(ops, nops, RD_KAFKA_ACL_OPERATION_WRITE);
        f.can_read = ops && has_op(ops, nops, RD_KAFKA_ACL_OPERATION_READ);
        f.need_write = need_write;
        f.need_read = need_read;
        f.want_partitions = want_partitions;
        return pb_kafka_check_topic_row(&f, out);
}

/* The state topic is a table: compacted, or refused (state_writer.c). */
static int check_compacted(rd_kafka_t *rk, const char *topic, FILE *out)
{
        char policy[64], e[PB_ERRSZ];
        if (pb_kafka_topic_config(rk, topic, "cleanup.policy", policy, sizeof(policy), e,
                                  sizeof(e))) {
                fprintf(out, "? topic %-40s cleanup.policy unknown: %s (grant DESCRIBE_CONFIGS)\n",
                        topic, e);
                return 0;
        }
        int ok = strstr(policy, "compact") != NULL;
        fprintf(out, "%s topic %-40s cleanup.policy=%s%s\n", ok ? "✓" : "✗", topic, policy,
                ok ? ""
                   : "  (must be compact; the state writer refuses it: kafka-configs.sh "
                     "--alter --entity-type topics --entity-name ... --add-config "
                     "cleanup.policy=compact)");
        return !ok;
}

/* reads: the topics must be readable too (the index, the reconcile);
 * replicas: the control topic as well (the election); with state.enabled,
 * the state topic and its cleanup.policy. */
static int check_topics(rd_kafka_t *rk, const pb_config_t *cfg, int reads, int replicas, FILE *out,
                        char *errstr, size_t errsz)
{
        const char *names[PB_CONFIG_TOPICS + 5];
        pb_config_topics(cfg, names);
        size_t n = PB_CONFIG_TOPICS;
        if (replicas)
                names[n++] = cfg->topic_control;
        if (cfg->state_enabled) {
                names[n++] = cfg->topic_state;
                names[n++] = cfg->topic_deadlines;
        }
        if (cfg->desk_enabled) { /* read commands, write (and read back) results */
                names[n++] = cfg->topic_commands;
                names[n++] = cfg->topic_command_results;
        }
        rd_kafka_TopicCollection_t *tc = rd_kafka_TopicCollection_of_topic_names(names, n);
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *o = opts_for(rk, RD_KAFKA_ADMIN_OP_DESCRIBETOPICS);
        rd_kafka_DescribeTopics(rk, tc, o, q);
        rd_kafka_event_t *ev = await(rk, q, "describing the topics", errstr, errsz);
        int bad = -1;
        if (ev) {
                size_t cnt = 0;
                const rd_kafka_TopicDescription_t **ds = rd_kafka_DescribeTopics_result_topics(
                    rd_kafka_event_DescribeTopics_result(ev), &cnt);
                bad = 0;
                for (size_t i = 0; i < cnt; i++) {
                        const char *name = rd_kafka_TopicDescription_name(ds[i]);
                        int control = strcmp(name, cfg->topic_control) == 0 && replicas;
                        int state = cfg->state_enabled && !strcmp(name, cfg->topic_state);
                        int deadlines = cfg->state_enabled && !strcmp(name, cfg->topic_deadlines);
                        int row = topic_row(ds[i], !control, reads || state || deadlines,
                                            control ? 1 : 0, out);
                        bad += row;
                        if (state && !row)
                                bad += check_compacted(rk, name, out);
                }
                rd_kafka_event_destroy(ev);
        }
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_queue_destroy(q);
        rd_kafka_TopicCollection_destroy(tc);
        return bad;
}

static int check_groups(rd_kafka_t *rk, const pb_config_t *cfg, FILE *out, char *errstr,
                        size_t errsz)
{
        const char *groups[] = {cfg->telnyx_poll_group, cfg->telnyx_reconcile_group};
        const rd_kafka_AclOperation_t need[] = {RD_KAFKA_ACL_OPERATION_READ,
                                                RD_KAFKA_ACL_OPERATION_DESCRIBE};
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *o = opts_for(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
        rd_kafka_DescribeConsumerGroups(rk, groups, 2, o, q);
        rd_kafka_event_t *ev = await(rk, q, "describing the groups", errstr, errsz);
        int bad = -1;
        if (ev) {
                size_t cnt = 0;
                const rd_kafka_ConsumerGroupDescription_t **gs =
                    rd_kafka_DescribeConsumerGroups_result_groups(
                        rd_kafka_event_DescribeConsumerGroups_result(ev), &cnt);
                bad = 0;
                for (size_t i = 0; i < cnt; i++) {
                        const char *id = rd_kafka_ConsumerGroupDescription_group_id(gs[i]);
                        rd_kafka_AclOperation_t want =
                            strcmp(id, groups[0]) == 0 ? need[0] : need[1];
                        const rd_kafka_error_t *e = rd_kafka_ConsumerGroupDescription_error(gs[i]);
                        size_t nops = 0;
                        const rd_kafka_AclOperation_t *ops =
                            rd_kafka_ConsumerGroupDescription_authorized_operations(gs[i], &nops);
                        rd_kafka_resp_err_t ec = e ? rd_kafka_error_code(e) : 0;
                        if (ec && ec != RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED) {
                                /* Not found (or its coordinator not there
                                 * yet): its rights show once a replica has
                                 * joined it; only a denial is a verdict. */
                                fprintf(out,
                                        "? group %-40s not created yet (%s; %s is checked once a "
                                        "replica has joined it)\n",
                                        id, rd_kafka_err2name(ec),
                                        rd_kafka_AclOperation_name(want));
                                continue;
                        }
                        int ok = !ec && (!ops || has_op(ops, nops, want));
                        fprintf(out, "%s group %-40s %s  (needs %s)%s%s (%s)\n", ok ? "✓" : "✗", id,
                                rd_kafka_consumer_group_state_name(
                                    rd_kafka_ConsumerGroupDescription_state(gs[i])),
                                rd_kafka_AclOperation_name(want), ec ? ": " : "",
                                ec ? rd_kafka_err2str(ec) : "", ec ? rd_kafka_err2name(ec) : "ok");
                        bad += !ok;
                }
                rd_kafka_event_destroy(ev);
        }
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_queue_destroy(q);
        return bad;
}

int pb_kafka_can_write(rd_kafka_t *rk, const char *topic, char *errstr, size_t errsz)
{
        const char *names[] = {topic};
        rd_kafka_TopicCollection_t *tc = rd_kafka_TopicCollection_of_topic_names(names, 1);
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *o = opts_for(rk, RD_KAFKA_ADMIN_OP_DESCRIBETOPICS);
        rd_kafka_DescribeTopics(rk, tc, o, q);
        rd_kafka_event_t *ev = await(rk, q, "describing the topic", errstr, errsz);
        int rc = PB_ERR;
        if (ev) {
                size_t cnt = 0, nops = 0;
                const rd_kafka_TopicDescription_t **ds = rd_kafka_DescribeTopics_result_topics(
                    rd_kafka_event_DescribeTopics_result(ev), &cnt);
                const rd_kafka_error_t *e = cnt ? rd_kafka_TopicDescription_error(ds[0]) : NULL;
                const rd_kafka_AclOperation_t *ops =
                    cnt ? rd_kafka_TopicDescription_authorized_operations(ds[0], &nops) : NULL;
                if (!cnt)
                        pb_seterr(errstr, errsz, "%s: not described", topic);
                else if (e)
                        pb_seterr(errstr, errsz, "%s: %s", topic, rd_kafka_error_string(e));
                else if (ops && !has_op(ops, nops, RD_KAFKA_ACL_OPERATION_WRITE))
                        rc = 0, pb_seterr(errstr, errsz, "%s: no WRITE for this principal", topic);
                else
                        rc = 1; /* granted, or no authorizer (no operations reported) */
                rd_kafka_event_destroy(ev);
        }
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_queue_destroy(q);
        rd_kafka_TopicCollection_destroy(tc);
        return rc;
}

int pb_kafka_check(const pb_config_t *cfg, FILE *out, char *errstr, size_t errsz)
{
        struct conn c;
        memset(&c, 0, sizeof(c));
        rd_kafka_conf_t *conf = pb_kafka_conf(cfg, 0, errstr, errsz);
        if (!conf)
                return PB_EXIT_CONFIG;
        rd_kafka_conf_set_opaque(conf, &c);
        rd_kafka_conf_set_error_cb(conf, on_error);
        char e[512];
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
        if (!rk) {
                rd_kafka_conf_destroy(conf);
                pb_seterr(errstr, errsz, "cannot create a Kafka client: %s", e);
                return PB_EXIT_CONFIG;
        }
        pb_acl_mode_t mode = pb_kafka_acl_mode(cfg);
        int replicas = mode == PB_ACL_REPLICAS;
        fprintf(out, "# Kafka %s, as this configuration's principal (%s)\n", cfg->kafka_brokers,
                replicas               ? "replicas polling with checkpoint_store = \"kafka\""
                : mode == PB_ACL_INDEX ? "webhooks with the index"
                                       : "publishing");
        int rc = PB_EXIT_OK;
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *o = opts_for(rk, RD_KAFKA_ADMIN_OP_DESCRIBECLUSTER);
        rd_kafka_DescribeCluster(rk, o, q);
        rd_kafka_event_t *ev = await(rk, q, "connecting", errstr, errsz);
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_queue_destroy(q);
        if (!ev) {
                /* Say why, as the bridge's /readyz would. */
                if (c.last[0]) {
                        char first[PB_ERRSZ];
                        snprintf(first, sizeof(first), "%s", errstr);
                        pb_seterr(errstr, errsz, "%s (%s: %s)", first,
                                  rd_kafka_err2name((rd_kafka_resp_err_t)c.err), c.last);
                }
                fprintf(out, "✗ connect: %s\n", errstr);
                rc = pb_kafka_problem_is_refusal(pb_kafka_classify(c.err, c.last))
                         ? PB_EXIT_NOPERM
                         : PB_EXIT_UNAVAILABLE;
        } else {
                const rd_kafka_DescribeCluster_result_t *res =
                    rd_kafka_event_DescribeCluster_result(ev);
                size_t nodes = 0;
                rd_kafka_DescribeCluster_result_nodes(res, &nodes);
                const char *id = rd_kafka_DescribeCluster_result_cluster_id(res);
                fprintf(out, "✓ connected: cluster %s, %zu broker(s)\n", id ? id : "?", nodes);
                rd_kafka_event_destroy(ev);
                int bad =
                    check_topics(rk, cfg, mode != PB_ACL_PUBLISH, replicas, out, errstr, errsz);
                if (bad >= 0 && replicas) {
                        int g = check_groups(rk, cfg, out, errstr, errsz);
                        bad = g < 0 ? -1 : bad + g;
                }
                if (bad < 0) {
                        fprintf(out, "✗ %s\n", errstr);
                        rc = PB_EXIT_UNAVAILABLE;
                } else if (bad > 0) {
                        pb_seterr(errstr, errsz,
                                  "%d problem(s): see `check-config --acls` for what to grant",
                                  bad);
                        rc = PB_EXIT_NOPERM;
                }
        }
        pb_kafka_destroy_bounded(rk, 0, 5000);
        return rc;
}

#include "poll_election.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka_conf.h"
#include "kafka_topics.h"
#include "log.h"
#include "pb.h"
#include "timefmt.h"

#define CONTROL_PARTITION 0
#define ADMIN_TIMEOUT_MS  15000
#define DESTROY_MS        10000

struct pb_election {
        const pb_config_t *cfg;
        pb_metrics_t *metrics;
        rd_kafka_t *rk;
        int wake[2];
        pthread_t thread;
        int thread_started;
        /* leader, term; held across a commit, so a revocation waits for a
         * commit in flight and no commit starts after it */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int leader;
        uint64_t term;
        int stop;
        int topic_ready; /* the control topic exists (created, or found) */
        int announced;   /* the first assignment was logged */
        char who[128];   /* host:pid, written into the checkpoint */
};

static void set_leader_gauge(pb_election_t *e, int leader)
{
        if (e->metrics)
                pb_metrics_set(e->metrics, "portout_bridge_poll_leader", NULL, leader);
}

static int has_control(const pb_election_t *e, const rd_kafka_topic_partition_list_t *parts)
{
        for (int i = 0; i < parts->cnt; i++)
                if (parts->elems[i].partition == CONTROL_PARTITION &&
                    strcmp(parts->elems[i].topic, e->cfg->topic_control) == 0)
                        return 1;
        return 0;
}

static void report(rd_kafka_error_t *err, const char *what)
{
        if (!err)
                return;
        pb_warn("poll election: %s: %s", what, rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
}

/* Runs on the election thread (inside rd_kafka_consumer_poll), or in
 * rd_kafka_consumer_close() when leaving. The group uses the
 * cooperative-sticky assignor: a replica joining or leaving does not move the
 * control partition away from a live leader, so leadership changes only when
 * the leader goes. Under that protocol an assignment lists only what is
 * added, and a revocation only what is taken away. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
        pb_election_t *e = opaque;
        /* NULL "on error" (rdkafka.h): a group handler that has terminated
         * refuses the request, which happens to the revocation that
         * rd_kafka_consumer_close() serves on a loaded machine (it crashed
         * unit.poll_election). Then it is the strategy make_consumer()
         * asks for. */
        const char *proto = rd_kafka_rebalance_protocol(rk);
        int coop = proto ? strcmp(proto, "COOPERATIVE") == 0 : 1;
        int ours = has_control(e, parts);
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                if (coop)
                        report(rd_kafka_incremental_assign(rk, parts), "assign");
                else
                        rd_kafka_assign(rk, parts);
                pthread_mutex_lock(&e->lock);
                int was = e->leader;
                int leader = coop ? (was || ours) : ours;
                if (leader && !was)
                        e->term++;
                e->leader = leader;
                pthread_cond_broadcast(&e->cond);
                pthread_mutex_unlock(&e->lock);
                set_leader_gauge(e, leader);
                if (leader != was || !e->announced)
                        pb_info("poll election: %s (group %s)",
                                leader ? "this replica is the poll leader"
                                       : "another replica polls",
                                e->cfg->telnyx_poll_group);
                e->announced = 1;
                return;
        }
        /* Revoked, or lost (the session timed out: a pause, a coordinator
         * gone). Taking the lock waits for a commit in flight. */
        int lost = rd_kafka_assignment_lost(rk);
        int was = 0;
        if (ours || !coop) {
                pthread_mutex_lock(&e->lock);
                was = e->leader;
                e->leader = 0;
                pthread_cond_broadcast(&e->cond);
                pthread_mutex_unlock(&e->lock);
                set_leader_gauge(e, 0);
        }
        if (coop)
                report(rd_kafka_incremental_unassign(rk, parts), "unassign");
        else
                rd_kafka_assign(rk, NULL);
        if (was)
                pb_warn("poll election: leadership %s; polling stops before its next page",
                        lost ? "lost (the group session expired)" : "revoked");
}

/* Serves the consumer: rebalances, heartbeats' errors. The control topic
 * carries no records; anything read is dropped. */

static void *election_main(void *arg)
{
        pb_election_t *e = arg;
        int64_t next_create = 0;
        for (;;) {
                pthread_mutex_lock(&e->lock);
                int stop = e->stop;
                pthread_mutex_unlock(&e->lock);
                if (stop)
                        break;
                if (!e->topic_ready && pb_mono_ms() >= next_create) {
                        /* Kafka may have been down at start: keep trying. */
                        char err[PB_ERRSZ];
                        if (pb_kafka_ensure_topic(e->rk, e->cfg->topic_control, 1, 0, err,
                                                  sizeof(err)) == 0)
                                e->topic_ready = 1;
                        else
                                pb_warn("poll election: %s; retrying", err);
                        next_create = pb_mono_ms() + 5000;
                }
                pb_wake_wait(e->wake[0], 100);
                rd_kafka_message_t *m;
                while ((m = rd_kafka_consumer_poll(e->rk, 0)) != NULL) {
                        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                                pb_warn("poll election: %s", rd_kafka_message_errstr(m));
                        rd_kafka_message_destroy(m);
                }
        }
        return NULL;
}

/* 1 if the topic exists (with partitions), 0 if the cluster says it does
 * not, -1 if it could not tell (errstr). Needs DESCRIBE only. */

static rd_kafka_t *make_consumer(const pb_config_t *cfg, void *opaque, int with_rebalance,
                                 char *errstr, size_t errsz)
{
        char sto[32], hb[32];
        snprintf(sto, sizeof(sto), "%lld", (long long)cfg->telnyx_poll_session_timeout_ms);
        /* The survivors learn of a rebalance at their next heartbeat: at a
         * tenth of the session, take-over is the session plus a little,
         * not plus librdkafka's default 3 s. */
        long long hbms = cfg->telnyx_poll_session_timeout_ms / 10;
        snprintf(hb, sizeof(hb), "%lld", hbms < 100 ? 100 : hbms);
        pb_consumer_spec_t spec = {
            .role = "election",
            .group_id = cfg->telnyx_poll_group,
            .session_timeout_ms = sto,
            .heartbeat_interval_ms = hb,
            .assignment_strategy = "cooperative-sticky",
            .rebalance_cb = with_rebalance ? rebalance_cb : NULL,
            .opaque = opaque,
        };
        return pb_kafka_consumer_new(cfg, &spec, errstr, errsz);
}

pb_election_t *pb_election_new(const pb_config_t *cfg, pb_metrics_t *metrics, char *errstr,
                               size_t errsz)
{
        pb_election_t *e = calloc(1, sizeof(*e));
        if (!e) {
                pb_seterr(errstr, errsz, "out of memory");
                return NULL;
        }
        e->cfg = cfg;
        e->metrics = metrics;
        e->wake[0] = e->wake[1] = -1;
        pthread_mutex_init(&e->lock, NULL);
        pb_cond_init(&e->cond);
        char host[64] = "?";
        gethostname(host, sizeof(host) - 1);
        snprintf(e->who, sizeof(e->who), "%s:%ld", host, (long)getpid());
        if (pb_wake_open(e->wake)) {
                pb_seterr(errstr, errsz, "pipe failed");
                goto fail;
        }
        e->rk = make_consumer(cfg, e, 1, errstr, errsz);
        if (!e->rk)
                goto fail;
        rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(e->rk);
        rd_kafka_queue_io_event_enable(q, e->wake[1], "e", 1);
        rd_kafka_queue_destroy(q);
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, cfg->topic_control, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t err = rd_kafka_subscribe(e->rk, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (err) {
                pb_seterr(errstr, errsz, "poll election: subscribe to %s: %s", cfg->topic_control,
                          rd_kafka_err2str(err));
                goto fail;
        }
        if (pthread_create(&e->thread, NULL, election_main, e)) {
                pb_seterr(errstr, errsz, "cannot start the election thread");
                goto fail;
        }
        e->thread_started = 1;
        set_leader_gauge(e, 0);
        return e;
fail:
        if (e->rk)
                pb_kafka_destroy_bounded(e->rk, 1, DESTROY_MS);
        pb_wake_close(e->wake);
        pthread_mutex_destroy(&e->lock);
        pthread_cond_destroy(&e->cond);
        free(e);
        return NULL;
}

int pb_election_is_leader(pb_election_t *e)
{
        pthread_mutex_lock(&e->lock);
        int l = e->leader;
        pthread_mutex_unlock(&e->lock);
        return l;
}

uint64_t pb_election_term(pb_election_t *e)
{
        pthread_mutex_lock(&e->lock);
        uint64_t t = e->term;
        pthread_mutex_unlock(&e->lock);
        return t;
}

int pb_election_wait(pb_election_t *e, int ms)
{
        pthread_mutex_lock(&e->lock);
        uint64_t term = e->term;
        int64_t until = pb_mono_ms() + ms;
        while (!e->leader && e->term == term && !e->stop && pb_mono_ms() < until)
                pb_cond_timedwait_ms(&e->cond, &e->lock, until - pb_mono_ms());
        int l = e->leader;
        pthread_mutex_unlock(&e->lock);
        return l;
}

/* {"version":1,"created_at":"..."} -> microseconds. */
static int parse_checkpoint(const char *meta, size_t len, int64_t *created_us)
{
        json_tokener *tok = json_tokener_new();
        json_object *o = json_tokener_parse_ex(tok, meta, (int)len), *v;
        json_tokener_free(tok);
        int ok = o && json_object_object_get_ex(o, "created_at", &v) &&
                 json_object_is_type(v, json_type_string) &&
                 pb_time_parse_rfc3339(json_object_get_string(v), created_us) == 0;
        json_object_put(o);
        return ok ? 0 : -1;
}

static int read_committed(rd_kafka_t *rk, const pb_config_t *cfg, int64_t *created_us, char *meta,
                          size_t metasz, char *errstr, size_t errsz)
{
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, cfg->topic_control, CONTROL_PARTITION);
        rd_kafka_resp_err_t err = rd_kafka_committed(rk, l, ADMIN_TIMEOUT_MS);
        int rc;
        rd_kafka_topic_partition_t *p = &l->elems[0];
        if (err || p->err) {
                rc = pb_seterr(errstr, errsz, "reading the poll checkpoint of group %s: %s",
                               cfg->telnyx_poll_group, rd_kafka_err2str(err ? err : p->err));
        } else if (p->offset < 0 || !p->metadata || !p->metadata_size) {
                rc = 0; /* nothing committed yet */
        } else if (parse_checkpoint(p->metadata, p->metadata_size, created_us)) {
                rc = pb_seterr(errstr, errsz, "the poll checkpoint of group %s is unreadable: %.*s",
                               cfg->telnyx_poll_group, (int)p->metadata_size,
                               (const char *)p->metadata);
        } else {
                rc = 1;
                if (meta)
                        snprintf(meta, metasz, "%.*s", (int)p->metadata_size,
                                 (const char *)p->metadata);
        }
        rd_kafka_topic_partition_list_destroy(l);
        return rc;
}

int pb_election_read_checkpoint(pb_election_t *e, int64_t *created_us, char *errstr, size_t errsz)
{
        return read_committed(e->rk, e->cfg, created_us, NULL, 0, errstr, errsz);
}

uint64_t pb_election_leader_term(pb_election_t *e)
{
        pthread_mutex_lock(&e->lock);
        uint64_t t = e->leader ? e->term : 0;
        pthread_mutex_unlock(&e->lock);
        return t;
}

/* Commits l (sync) under the lock, while this member leads. */
static int commit_as_leader(pb_election_t *e, rd_kafka_topic_partition_list_t *l, const char *what,
                            char *errstr, size_t errsz)
{
        int rc = 0;
        pthread_mutex_lock(&e->lock);
        if (!e->leader) {
                rc = pb_seterr(errstr, errsz, "not the poll leader any more");
        } else {
                rd_kafka_resp_err_t err = rd_kafka_commit(e->rk, l, 0);
                for (int i = 0; !err && i < l->cnt; i++)
                        err = l->elems[i].err;
                if (err)
                        rc = pb_seterr(errstr, errsz, "the group refused the %s (%s): %s", what,
                                       rd_kafka_err2name(err), rd_kafka_err2str(err));
        }
        pthread_mutex_unlock(&e->lock);
        return rc;
}

int pb_election_fence(pb_election_t *e, const char *topic, int32_t partition, int64_t offset,
                      const char *meta, char *errstr, size_t errsz)
{
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_add(l, topic, partition);
        p->offset = offset;
        if (meta) {
                p->metadata = strdup(meta);
                p->metadata_size = p->metadata ? strlen(meta) : 0;
        }
        int rc = commit_as_leader(e, l, "fence", errstr, errsz);
        rd_kafka_topic_partition_list_destroy(l);
        return rc;
}

int pb_election_commit_checkpoint(pb_election_t *e, int64_t created_us, char *errstr, size_t errsz)
{
        char ts[40], now[40], meta[256];
        pb_time_format_us(created_us, ts, sizeof(ts));
        pb_time_format_ms(pb_now_ms(), now, sizeof(now));
        int n =
            snprintf(meta, sizeof(meta),
                     "{\"version\":1,\"created_at\":\"%s\",\"written_at\":\"%s\",\"by\":\"%s\"}",
                     ts, now, e->who);
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_add(l, e->cfg->topic_control, CONTROL_PARTITION);
        p->offset = 0; /* the control topic holds no records: the metadata is the point */
        p->metadata = malloc((size_t)n);
        memcpy(p->metadata, meta, (size_t)n);
        p->metadata_size = (size_t)n;
        int rc = commit_as_leader(e, l, "checkpoint", errstr, errsz);
        rd_kafka_topic_partition_list_destroy(l); /* frees the metadata */
        return rc;
}

void pb_election_free(pb_election_t *e)
{
        if (!e)
                return;
        pthread_mutex_lock(&e->lock);
        e->stop = 1;
        pthread_cond_broadcast(&e->cond);
        pthread_mutex_unlock(&e->lock);
        if (e->thread_started) {
                ssize_t w = write(e->wake[1], "s", 1);
                (void)w;
                pthread_join(e->thread, NULL);
        }
        /* Leaving the group hands partition 0 over at once (the revocation
         * runs inside the close). */
        int left = pb_kafka_destroy_bounded(e->rk, 1, DESTROY_MS) == 0;
        set_leader_gauge(e, 0);
        if (!left)
                return; /* librdkafka may still use e and its pipe; we are exiting */
        pb_wake_close(e->wake);
        pthread_mutex_destroy(&e->lock);
        pthread_cond_destroy(&e->cond);
        free(e);
}

int pb_election_peek_checkpoint(const pb_config_t *cfg, int64_t *created_us, char *meta,
                                size_t metasz, char *errstr, size_t errsz)
{
        rd_kafka_t *rk = make_consumer(cfg, NULL, 0, errstr, errsz);
        if (!rk)
                return -1;
        int rc = read_committed(rk, cfg, created_us, meta, metasz, errstr, errsz);
        pb_kafka_destroy_bounded(rk, 0, DESTROY_MS);
        return rc;
}

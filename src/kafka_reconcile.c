#include "kafka_reconcile.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dedupe.h"
#include "kafka_conf.h"
#include "kafka_topics.h"
#include "log.h"
#include "pb.h"
#include "record.h"

#define N_TOPICS       PB_CONFIG_TOPICS
#define MAX_PARTITIONS 1024
#define REQ_TIMEOUT_MS 10000
/* A follower's requests give up sooner: it retries anyway, and the index's
 * thread must notice a stop within a couple of seconds. */
#define FOLLOW_REQ_TIMEOUT_MS 2000
#define DESTROY_MS            5000
#ifndef PB_FOLLOW_FETCH_WAIT
#define PB_FOLLOW_FETCH_WAIT "50"
#endif
#ifndef PB_FOLLOW_FETCH_MIN
#define PB_FOLLOW_FETCH_MIN "1048576"
#endif

struct part {
        const char *topic; /* borrowed from the config */
        int32_t partition;
        int64_t target; /* the end to reach in this catch-up */
        int64_t next;   /* the next offset to read (-1: not known yet) */
};

struct pb_reconcile {
        const pb_config_t *cfg;
        pb_metrics_t *metrics;
        rd_kafka_t *rk;
        int wake[2];
        pb_dedupe_t *ids; /* id -> the record's Kafka timestamp (ms) */
        struct part parts[MAX_PARTITIONS];
        size_t nparts;
        uint64_t evicted;                 /* already counted in the metric */
        size_t capacity;                  /* ids held at most */
        int follow;                       /* never paused: the fetcher keeps up between catch-ups */
        const atomic_int *stop;           /* non-zero: a catch-up gives up (may be NULL) */
        int64_t refresh_ms, refreshed_ms; /* topic list: how often, when last */
        int64_t lo[MAX_PARTITIONS], hi[MAX_PARTITIONS]; /* scratch for query_offsets() */
};

static pb_reconcile_t *reconcile_new(const pb_config_t *cfg, pb_metrics_t *metrics, int follow,
                                     char *errstr, size_t errsz)
{
        if (sodium_init() < 0) {
                pb_seterr(errstr, errsz, "libsodium failed to initialize");
                return NULL;
        }
        pb_reconcile_t *r = calloc(1, sizeof(*r));
        if (!r) {
                pb_seterr(errstr, errsz, "out of memory");
                return NULL;
        }
        r->cfg = cfg;
        r->metrics = metrics;
        r->follow = follow;
        r->wake[0] = r->wake[1] = -1;
        r->capacity = (size_t)cfg->telnyx_reconcile_max_ids;
        r->ids = pb_dedupe_new(r->capacity, INT64_MAX / 4);
        if (!r->ids || pb_wake_open(r->wake))
                goto fail;
        /* librdkafka's consumer API needs a group.id; nothing joins or
         * commits under it (assign only), but librdkafka still looks up its
         * coordinator: DESCRIBE on the group. A Fetch waiting at the broker
         * holds back every later request on the connection (metadata, list
         * offsets): kept short. */
        pb_consumer_spec_t spec = {
            .role = follow ? "index" : "reconcile",
            .group_id = cfg->telnyx_reconcile_group,
            .fetch_wait_max_ms = follow ? PB_FOLLOW_FETCH_WAIT : "100",
            .fetch_min_bytes = follow ? PB_FOLLOW_FETCH_MIN : NULL,
        };
        r->rk = pb_kafka_consumer_new(cfg, &spec, errstr, errsz);
        if (!r->rk)
                goto fail;
        rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(r->rk);
        rd_kafka_queue_io_event_enable(q, r->wake[1], "r", 1);
        rd_kafka_queue_destroy(q);
        return r;
fail:
        pb_reconcile_free(r);
        return NULL;
}

pb_reconcile_t *pb_reconcile_new(const pb_config_t *cfg, pb_metrics_t *metrics, char *errstr,
                                 size_t errsz)
{
        return reconcile_new(cfg, metrics, 0, errstr, errsz);
}

pb_reconcile_t *pb_reconcile_new_follower(const pb_config_t *cfg, char *errstr, size_t errsz)
{
        return reconcile_new(cfg, NULL, 1, errstr, errsz);
}

static struct part *find_part(pb_reconcile_t *r, const char *topic, int32_t partition)
{
        for (size_t i = 0; i < r->nparts; i++)
                if (r->parts[i].partition == partition && strcmp(r->parts[i].topic, topic) == 0)
                        return &r->parts[i];
        return NULL;
}

/* Adds the partitions of the event and dead-letter topics not listed yet (a
 * topic that does not exist yet holds nothing to know; one created later, by
 * a replica's first event of its type, is found at the next catch-up). New
 * ones start with next = -1 (set to their first offset by the caller). Returns the index of
 * the first added (== r->nparts if none), or -1 with errstr. */
static long add_partitions(pb_reconcile_t *r, int64_t until, char *errstr, size_t errsz)
{
        const char *topics[N_TOPICS];
        pb_config_topics(r->cfg, topics);
        size_t first = r->nparts;
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
        int rc = 0;
        for (int t = 0; t < N_TOPICS && !rc; t++)
                rc = pb_kafka_partitions(r->rk, topics[t], (int)(until - pb_mono_ms()), l, 0,
                                         errstr, errsz) < 0;
        for (int i = 0; !rc && i < l->cnt; i++) {
                const char *topic = l->elems[i].topic;
                int t = 0;
                while (strcmp(topics[t], topic) != 0) /* the config's string: parts keep it */
                        t++;
                if (find_part(r, topics[t], l->elems[i].partition))
                        continue;
                if (r->nparts == MAX_PARTITIONS) {
                        rc = pb_seterr(errstr, errsz, "reconcile: more than %d partitions to read",
                                       MAX_PARTITIONS);
                        break;
                }
                struct part *pt = &r->parts[r->nparts++];
                pt->topic = topics[t];
                pt->partition = l->elems[i].partition;
                pt->target = 0;
                pt->next = -1;
        }
        rd_kafka_topic_partition_list_destroy(l);
        if (rc)
                return -1;
        return (long)first;
}

/* The whole partition list, offsets set to `offset`. */
static rd_kafka_topic_partition_list_t *part_list(pb_reconcile_t *r, size_t from, int64_t offset)
{
        rd_kafka_topic_partition_list_t *l =
            rd_kafka_topic_partition_list_new((int)(r->nparts - from) + 1);
        for (size_t i = from; i < r->nparts; i++)
                rd_kafka_topic_partition_list_add(l, r->parts[i].topic, r->parts[i].partition)
                    ->offset = offset;
        return l;
}

/* Every partition's first (lo) or next-to-be-written (hi) offset, in one
 * ListOffsets request per leader (timestamp -2 or -1). Writes into
 * out[i] for parts[i]. */
static int query_offsets(pb_reconcile_t *r, int64_t which, int64_t *out, int timeout_ms,
                         char *errstr, size_t errsz)
{
        if (!r->nparts)
                return 0;
        rd_kafka_topic_partition_list_t *l = part_list(r, 0, which);
        rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(r->rk, l, timeout_ms);
        for (int i = 0; i < l->cnt && !err; i++) {
                if (l->elems[i].err)
                        err = l->elems[i].err;
                out[i] = l->elems[i].offset;
        }
        rd_kafka_topic_partition_list_destroy(l);
        if (err)
                return pb_seterr(errstr, errsz, "reconcile: %s offsets: %s",
                                 which == RD_KAFKA_OFFSET_END ? "end" : "first",
                                 rd_kafka_err2str(err));
        return 0;
}

/* Between catch-ups the partitions are paused: no Fetch waits at the
 * broker, so the next catch-up's requests are answered at once, and an idle
 * poller costs the brokers nothing. */
static void set_paused(pb_reconcile_t *r, int paused)
{
        if (!r->nparts || r->follow)
                return;
        rd_kafka_topic_partition_list_t *l = part_list(r, 0, RD_KAFKA_OFFSET_INVALID);
        if (paused)
                rd_kafka_pause_partitions(r->rk, l);
        else
                rd_kafka_resume_partitions(r->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
}

int pb_reconcile_start(pb_reconcile_t *r, int64_t from_ms, char *errstr, size_t errsz)
{
        pb_dedupe_free(r->ids);
        r->ids = pb_dedupe_new(r->capacity, INT64_MAX / 4);
        r->evicted = 0;
        if (!r->ids)
                return pb_seterr(errstr, errsz, "out of memory");
        rd_kafka_assign(r->rk, NULL);
        r->nparts = 0;
        const int req_ms = r->follow ? FOLLOW_REQ_TIMEOUT_MS : REQ_TIMEOUT_MS;
        if (add_partitions(r, pb_mono_ms() + req_ms, errstr, errsz) < 0)
                return -1;
        /* Absolute positions from the start: a partition's position is then
         * always known, and moves only with the records read. */
        int64_t *hi = r->hi;
        if (query_offsets(r, RD_KAFKA_OFFSET_END, hi, req_ms, errstr, errsz) < 0)
                return -1;
        rd_kafka_topic_partition_list_t *l = part_list(r, 0, from_ms);
        rd_kafka_resp_err_t err =
            r->nparts ? rd_kafka_offsets_for_times(r->rk, l, req_ms) : RD_KAFKA_RESP_ERR_NO_ERROR;
        int rc = 0;
        if (err) {
                rc = pb_seterr(errstr, errsz, "reconcile: offsets for time: %s",
                               rd_kafka_err2str(err));
        } else {
                for (int i = 0; i < l->cnt; i++) {
                        if (l->elems[i].err || l->elems[i].offset < 0)
                                l->elems[i].offset = hi[i]; /* no record that recent */
                        r->parts[i].next = l->elems[i].offset;
                }
                err = rd_kafka_assign(r->rk, l);
                if (err)
                        rc = pb_seterr(errstr, errsz, "reconcile: assign: %s",
                                       rd_kafka_err2str(err));
                else
                        set_paused(r, 1);
        }
        rd_kafka_topic_partition_list_destroy(l);
        if (!rc)
                pb_info("reconcile: reading %zu partition(s) from their records since %lld ms",
                        r->nparts, (long long)from_ms);
        return rc;
}

/* One record's id (record.h: its ce_id, or a rejection's name). */
static void learn(pb_reconcile_t *r, const rd_kafka_message_t *m)
{
        pb_record_view_t v;
        pb_record_read_kafka(m, &v);
        if (v.id[0]) {
                rd_kafka_timestamp_type_t tt;
                int64_t ts = rd_kafka_message_timestamp(m, &tt);
                pb_dedupe_add(r->ids, v.id, ts > 0 ? ts : pb_now_ms());
        }
}

static int caught_up(pb_reconcile_t *r)
{
        for (size_t i = 0; i < r->nparts; i++)
                if (r->parts[i].next < r->parts[i].target)
                        return 0;
        return 1;
}

/* Topics or partitions that appeared since the last look (every
 * refresh_ms): all their records are newer than the start, so they are read
 * from their beginning. Returns the index of the first new partition. */
static long assign_new(pb_reconcile_t *r, int64_t t0, int64_t until, char *errstr, size_t errsz)
{
        long first = (long)r->nparts;
        if (!r->refresh_ms || t0 - r->refreshed_ms >= r->refresh_ms) {
                first = add_partitions(r, until, errstr, errsz);
                if (first < 0)
                        return -1;
                r->refreshed_ms = t0;
        }
        if ((size_t)first == r->nparts)
                return first;
        rd_kafka_topic_partition_list_t *l = part_list(r, (size_t)first, RD_KAFKA_OFFSET_BEGINNING);
        rd_kafka_error_t *e = rd_kafka_incremental_assign(r->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
        if (e) {
                pb_seterr(errstr, errsz, "reconcile: assign: %s", rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                r->nparts = (size_t)first; /* listed again next time */
                return -1;
        }
        pb_info("reconcile: reading %zu new partition(s) from their beginning",
                r->nparts - (size_t)first);
        return first;
}

/* Every partition's target: its end as of now (what was acknowledged before
 * this catch-up); a position below the first offset moves up to it. */
static int set_targets(pb_reconcile_t *r, int64_t t0, int64_t until, int timeout_ms, char *errstr,
                       size_t errsz)
{
        int64_t *lo = r->lo, *hi = r->hi;
        int64_t left = until - pb_mono_ms();
        /* A follower asks for the first offsets (retention) only with the
         * topic list: one request less, ten times a second. */
        int want_lo = !r->follow || r->refreshed_ms == t0;
        if (!want_lo)
                for (size_t i = 0; i < r->nparts; i++)
                        lo[i] = 0;
        if (left < 1 ||
            (want_lo &&
             query_offsets(r, RD_KAFKA_OFFSET_BEGINNING, lo, (int)left, errstr, errsz) < 0) ||
            (left = until - pb_mono_ms()) < 1 ||
            query_offsets(r, RD_KAFKA_OFFSET_END, hi, (int)left, errstr, errsz) < 0) {
                if (left < 1)
                        pb_seterr(errstr, errsz, "reconcile: no end offsets within %d ms",
                                  timeout_ms);
                return -1;
        }
        for (size_t i = 0; i < r->nparts; i++) {
                r->parts[i].target = hi[i];
                if (r->parts[i].next < lo[i])
                        r->parts[i].next = lo[i]; /* new, or deleted by retention meanwhile */
        }
        return 0;
}

/* Resumes the partitions behind their targets. librdkafka 2.0.2 did not wake
 * the fetcher on resume (it noticed within a second); a seek to the absolute
 * position does. It is queued behind the resume, so it also sees the
 * partition resumed. */
static void resume(pb_reconcile_t *r, size_t first, int64_t until)
{
        set_paused(r, 0);
        rd_kafka_topic_partition_list_t *behind = rd_kafka_topic_partition_list_new(8);
        for (size_t i = 0; i < first && !r->follow; i++)
                if (r->parts[i].next < r->parts[i].target)
                        rd_kafka_topic_partition_list_add(behind, r->parts[i].topic,
                                                          r->parts[i].partition)
                            ->offset = r->parts[i].next;
        if (behind->cnt) {
                rd_kafka_error_t *e = rd_kafka_seek_partitions(
                    r->rk, behind, (int)(until - pb_mono_ms() > 1 ? until - pb_mono_ms() : 1));
                if (e) { /* the fetcher still starts, only later */
                        pb_debug("reconcile: seek: %s", rd_kafka_error_string(e));
                        rd_kafka_error_destroy(e);
                }
        }
        rd_kafka_topic_partition_list_destroy(behind);
}

/* A transaction's commit or abort marker, and under read_committed the
 * records of an aborted transaction, take offsets but are never handed
 * over: a partition whose last offsets are such would never be "read to its
 * end" by the records alone. librdkafka's position moves past them (the
 * marker is consumed inside the poll), so the position is where a
 * partition's reading stands. */
static void take_positions(pb_reconcile_t *r)
{
        if (!r->nparts)
                return;
        rd_kafka_topic_partition_list_t *l = part_list(r, 0, RD_KAFKA_OFFSET_INVALID);
        if (!rd_kafka_position(r->rk, l))
                for (int i = 0; i < l->cnt; i++)
                        if (l->elems[i].offset > r->parts[i].next)
                                r->parts[i].next = l->elems[i].offset;
        rd_kafka_topic_partition_list_destroy(l);
}

/* Reads records until every partition is at its target; *nread counts them. */
static int read_to_targets(pb_reconcile_t *r, int64_t until, int timeout_ms, uint64_t *nread,
                           char *errstr, size_t errsz)
{
        while (!caught_up(r)) {
                if (r->stop && atomic_load(r->stop))
                        return pb_seterr(errstr, errsz, "reconcile: stopped");
                rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 0);
                if (!m) {
                        take_positions(r);
                        if (caught_up(r))
                                break;
                        int64_t left = until - pb_mono_ms();
                        if (left <= 0)
                                return pb_seterr(errstr, errsz,
                                                 "reconcile: not at the topics' ends within %d ms",
                                                 timeout_ms);
                        pb_wake_wait(r->wake[0], left < 100 ? (int)left : 100);
                        continue;
                }
                struct part *pt =
                    m->rkt ? find_part(r, rd_kafka_topic_name(m->rkt), m->partition) : NULL;
                if (m->err) {
                        pb_warn("reconcile: %s", rd_kafka_message_errstr(m));
                } else {
                        learn(r, m);
                        (*nread)++;
                        if (pt)
                                pt->next = m->offset + 1;
                }
                rd_kafka_message_destroy(m);
        }
        return 0;
}

static void report(pb_reconcile_t *r, uint64_t nread, int64_t took)
{
        if (!r->metrics)
                return;
        pb_metrics_add(r->metrics, "portout_bridge_reconcile_records_total", NULL, (int64_t)nread);
        pb_metrics_add(r->metrics, "portout_bridge_reconcile_reads_total", NULL, 1);
        pb_metrics_add(r->metrics, "portout_bridge_reconcile_read_milliseconds_total", NULL, took);
        pb_metrics_set(r->metrics, "portout_bridge_reconcile_last_read_milliseconds", NULL, took);
        pb_metrics_set(r->metrics, "portout_bridge_reconcile_ids", NULL,
                       (int64_t)pb_dedupe_size(r->ids));
        uint64_t ev = pb_dedupe_evicted(r->ids);
        if (ev > r->evicted)
                pb_metrics_add(r->metrics, "portout_bridge_reconcile_evicted_total", NULL,
                               (int64_t)(ev - r->evicted));
        r->evicted = ev;
}

int pb_reconcile_catch_up(pb_reconcile_t *r, int timeout_ms, char *errstr, size_t errsz)
{
        int64_t t0 = pb_mono_ms(), until = t0 + timeout_ms;
        long first = assign_new(r, t0, until, errstr, errsz);
        if (first < 0)
                return -1;
        int64_t t_md = pb_mono_ms() - t0;
        if (set_targets(r, t0, until, timeout_ms, errstr, errsz))
                return -1;
        int64_t t_wm = pb_mono_ms() - t0;
        resume(r, (size_t)first, until);
        uint64_t nread = 0;
        int rc = read_to_targets(r, until, timeout_ms, &nread, errstr, errsz);
        set_paused(r, 1);
        if (rc)
                return rc;
        int64_t took = pb_mono_ms() - t0;
        report(r, nread, took);
        pb_debug(
            "reconcile: %llu record(s) read in %lld ms (metadata %lld, ends %lld); %zu id(s) known",
            (unsigned long long)nread, (long long)took, (long long)t_md, (long long)t_wm,
            pb_dedupe_size(r->ids));
        return 0;
}

void pb_reconcile_set_stop(pb_reconcile_t *r, const atomic_int *stop)
{
        r->stop = stop;
}

void pb_reconcile_set_capacity(pb_reconcile_t *r, size_t max_ids)
{
        r->capacity = max_ids;
}

void pb_reconcile_set_topic_refresh(pb_reconcile_t *r, int ms)
{
        r->refresh_ms = ms;
}

int pb_reconcile_known(pb_reconcile_t *r, const char *id)
{
        return pb_dedupe_seen(r->ids, id, 0);
}

int pb_reconcile_known_fn(void *ctx, const char *id)
{
        return pb_reconcile_known(ctx, id);
}

void pb_reconcile_prune(pb_reconcile_t *r, int64_t cutoff_ms)
{
        pb_dedupe_expire(r->ids, cutoff_ms);
}

size_t pb_reconcile_size(pb_reconcile_t *r)
{
        return pb_dedupe_size(r->ids);
}

uint64_t pb_reconcile_evicted(pb_reconcile_t *r)
{
        return pb_dedupe_evicted(r->ids);
}

void pb_reconcile_free(pb_reconcile_t *r)
{
        if (!r)
                return;
        int left = 1;
        if (r->rk)
                left = pb_kafka_destroy_bounded(r->rk, 1, DESTROY_MS) == 0;
        if (!left)
                return; /* librdkafka may still write to the pipe; we are exiting */
        pb_wake_close(r->wake);
        pb_dedupe_free(r->ids);
        free(r);
}

#include "poll_loop.h"

#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_reconcile.h"
#include "log.h"
#include "pb.h"
#include "poll_checkpoint.h"
#include "poll_election.h"
#include "poll_scan.h"
#include "telnyx_client.h"
#include "timefmt.h"

struct pb_poller {
        const pb_config_t *cfg;
        pb_pipeline_t *pl;
        pb_metrics_t *metrics;
        pb_telnyx_t *tx;
        int lock_fd;        /* file store: the flock on the checkpoint */
        pb_election_t *el;  /* kafka store: the poll leadership */
        pb_reconcile_t *rc; /* kafka store: what the topics already hold */
        uint64_t term;      /* the leadership term the state below is from */
        int have_cp;        /* kafka store: cp_us is the committed checkpoint */
        int64_t cp_us;
        int64_t started_us; /* Telnyx time of the first poll: "fresh" events */
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        volatile sig_atomic_t stop;
};

static void count(pb_poller_t *p, const char *family, const char *labels, int64_t n)
{
        if (p->metrics && n)
                pb_metrics_add(p->metrics, family, labels, n);
}

static void set_gauge(pb_poller_t *p, const char *family, int64_t v)
{
        if (p->metrics)
                pb_metrics_set(p->metrics, family, NULL, v);
}

/* Telnyx's clock, asked for if no answer has told it yet. */
static int server_now(pb_poller_t *p, int64_t *now_us, char *err, size_t errsz)
{
        if (pb_telnyx_server_time_us(p->tx, now_us) == 0)
                return 0;
        /* A one-event page: cheap, and its Date is all we want. */
        pb_event_filter_t f;
        memset(&f, 0, sizeof(f));
        struct json_object *page = NULL;
        pb_tx_rc_t rc = pb_telnyx_list_events(p->tx, &f, 1, 1, &page, NULL, NULL, NULL, err, errsz);
        json_object_put(page);
        if (rc != PB_TX_OK)
                return -1;
        if (pb_telnyx_server_time_us(p->tx, now_us) == 0)
                return 0;
        pb_seterr(err, errsz, "the Telnyx API sent no Date header; polling needs Telnyx's clock");
        return -1;
}

/* Before each page: still the leader, and the view of what Kafka holds
 * brought to the topics' ends as of now, so an event any replica delivered
 * before this page is known (one delivered while the page is being published
 * can still be duplicated: the window is this page's few milliseconds). */
static int before_page(void *ctx, char *why, size_t whysz)
{
        pb_poller_t *p = ctx;
        if (!pb_election_is_leader(p->el))
                return pb_seterr(why, whysz, "no longer the poll leader");
        char err[PB_ERRSZ];
        if (pb_reconcile_catch_up(p->rc, 30000, err, sizeof(err))) {
                count(p, "portout_bridge_poll_errors_total", "reason=\"reconcile\"", 1);
                return pb_seterr(why, whysz, "%s; not publishing on a partial view", err);
        }
        return 0;
}

/* Kafka store, at each gain of leadership: the committed checkpoint (or the
 * file's, once: a migration), and the topics reread from the window on. */
static int take_office(pb_poller_t *p)
{
        const pb_config_t *cfg = p->cfg;
        char err[PB_ERRSZ];
        int64_t cp;
        int have = pb_election_read_checkpoint(p->el, &cp, err, sizeof(err));
        if (have < 0) {
                pb_err("poll: %s", err);
                count(p, "portout_bridge_poll_errors_total", "reason=\"checkpoint\"", 1);
                return -1;
        }
        if (!have && pb_checkpoint_read(cfg->telnyx_checkpoint_file, &cp, err, sizeof(err)) == 1) {
                if (pb_election_commit_checkpoint(p->el, cp, err, sizeof(err))) {
                        pb_err("poll: migrating the checkpoint file: %s", err);
                        return -1;
                }
                pb_info("poll: migrated the checkpoint of %s into group %s",
                        cfg->telnyx_checkpoint_file, cfg->telnyx_poll_group);
                have = 1;
        }
        p->have_cp = have;
        p->cp_us = have ? cp : 0;
        int64_t now_us;
        if (!have && pb_telnyx_server_time_us(p->tx, &now_us))
                now_us =
                    pb_now_ms() * 1000; /* only to start reading: no record is skipped for it */
        int64_t from_us = (have ? cp : now_us - cfg->telnyx_poll_lookback_s * 1000000) -
                          (cfg->telnyx_poll_overlap_s + cfg->telnyx_reconcile_margin_s) * 1000000;
        if (pb_reconcile_start(p->rc, from_us / 1000, err, sizeof(err))) {
                pb_err("poll: %s", err);
                count(p, "portout_bridge_poll_errors_total", "reason=\"reconcile\"", 1);
                return -1;
        }
        char b[40];
        pb_time_format_us(p->cp_us, b, sizeof(b));
        pb_info("poll: leader (term %llu); checkpoint %s", (unsigned long long)p->term,
                have ? b : "none yet (first start)");
        return 0;
}

void pb_poll_window(const pb_config_t *cfg, int have, int64_t cp_us, int64_t now_us,
                    int64_t *since_us, int64_t *until_us)
{
        /* Whole seconds: the Date header has no more, and an event of this
         * very second is read again next time (the window overlaps). */
        now_us -= now_us % 1000000;
        if (cfg->webhook_enabled)
                now_us -= cfg->telnyx_poll_settle_s * 1000000; /* left to webhooks in flight */
        int64_t from = have ? cp_us : now_us - cfg->telnyx_poll_lookback_s * 1000000;
        *since_us = from - cfg->telnyx_poll_overlap_s * 1000000;
        *until_us = now_us;
}

const char *pb_poll_next_checkpoint(const pb_scan_result_t *r, int have, int64_t cp_us,
                                    int64_t until_us, int64_t *next_us)
{
        /* Only to Telnyx time actually read: the newest created_at, or just
         * before the oldest failure; and no further than the window asked. */
        int64_t next = r->max_created_us;
        if (next > until_us)
                next = until_us;
        if (r->failed)
                next =
                    r->min_failed_us > 0 && r->min_failed_us - 1 < next ? r->min_failed_us - 1 : 0;
        *next_us = next;
        return !r->consistent          ? "the list moved while it was read"
               : r->failed && !next    ? "a failed event has no created_at"
               : !next                 ? "no event in the window"
               : have && next <= cp_us ? "nothing newer was delivered"
                                       : NULL;
}

static void count_outcomes(pb_poller_t *p, const pb_scan_result_t *r)
{
        const char *f = "portout_bridge_poll_events_total";
        count(p, f, "outcome=\"delivered\"", (int64_t)r->delivered);
        count(p, f, "outcome=\"dead_lettered\"", (int64_t)r->dead_lettered);
        count(p, f, "outcome=\"duplicate\"", (int64_t)r->duplicates);
        count(p, f, "outcome=\"failed\"", (int64_t)r->failed);
        count(p, "portout_bridge_poll_missed_by_webhook_total", NULL, (int64_t)r->fresh);
}

/* Moves the checkpoint (the file, or the group's offset) to next_us. */
static int commit(pb_poller_t *p, int64_t next_us)
{
        const pb_config_t *cfg = p->cfg;
        char err[PB_ERRSZ];
        if (p->el ? pb_election_commit_checkpoint(p->el, next_us, err, sizeof(err))
                  : pb_checkpoint_write(cfg->telnyx_checkpoint_file, next_us, err, sizeof(err))) {
                pb_err("poll: checkpoint not moved: %s", err);
                count(p, "portout_bridge_poll_errors_total", "reason=\"checkpoint\"", 1);
                return -1;
        }
        if (p->el) {
                p->cp_us = next_us;
                p->have_cp = 1;
                /* What the next window cannot reach need not be known. */
                pb_reconcile_prune(p->rc, next_us / 1000 - (cfg->telnyx_poll_overlap_s +
                                                            cfg->telnyx_reconcile_margin_s) *
                                                               1000);
        }
        set_gauge(p, "portout_bridge_poll_checkpoint_timestamp_seconds", next_us / 1000000);
        return 0;
}

/* One poll. Returns 0 if it completed (the checkpoint may have moved). */
static int poll_once(pb_poller_t *p)
{
        const pb_config_t *cfg = p->cfg;
        char err[PB_ERRSZ], since[40], until[40];
        int64_t cp_us = p->cp_us, now_us, since_us, until_us;
        int have = p->have_cp;
        if (!p->el)
                have = pb_checkpoint_read(cfg->telnyx_checkpoint_file, &cp_us, err, sizeof(err));
        if (have < 0) {
                pb_err("poll: %s", err);
                count(p, "portout_bridge_poll_errors_total", "reason=\"checkpoint\"", 1);
                return -1;
        }
        if (server_now(p, &now_us, err, sizeof(err))) {
                if (!p->stop) {
                        pb_err("poll: %s", err);
                        count(p, "portout_bridge_poll_errors_total", "reason=\"api\"", 1);
                }
                return -1;
        }
        if (!p->started_us)
                p->started_us = now_us;
        pb_poll_window(cfg, have, cp_us, now_us, &since_us, &until_us);
        pb_time_format_us(since_us, since, sizeof(since));
        pb_time_format_us(until_us, until, sizeof(until));
        pb_scan_opts_t o;
        memset(&o, 0, sizeof(o));
        o.filter.created_gte = since;
        o.filter.created_lte = until;
        o.stop = &p->stop;
        o.fresh_since_us = cfg->webhook_enabled ? p->started_us : 0;
        if (p->el) {
                /* Publish only what Kafka does not hold yet. */
                o.known = pb_reconcile_known_fn;
                o.known_ctx = p->rc;
                o.before_page = before_page;
                o.before_page_ctx = p;
        }
        pb_scan_result_t r;
        pb_tx_rc_t rc = pb_rest_scan(p->tx, p->pl, cfg, &o, &r, err, sizeof(err));
        count_outcomes(p, &r);
        if (rc != PB_TX_OK) {
                if (rc != PB_TX_ABORTED) {
                        pb_err("poll: %s%s", err,
                               rc == PB_TX_AUTH ? " (check TELNYX_API_KEY)" : "");
                        count(p, "portout_bridge_poll_errors_total", "reason=\"api\"", 1);
                } else if (!p->stop) {
                        pb_warn("poll: stopped: %s; the checkpoint stays", err);
                }
                /* The checkpoint stays: the next poll reads it all again. */
                return -1;
        }
        set_gauge(p, "portout_bridge_poll_last_success_timestamp_seconds", pb_now_ms() / 1000);
        if (r.fresh)
                pb_warn("poll: %zu event(s) created since start were not delivered by webhook",
                        r.fresh);
        int64_t next;
        if (r.max_created_us > until_us) {
                char late[40];
                pb_time_format_us(r.max_created_us, late, sizeof(late));
                pb_warn("poll: an event is dated %s, after the end of the window asked for (%s): "
                        "the checkpoint goes no further than the window",
                        late, until);
        }
        const char *why = pb_poll_next_checkpoint(&r, have, cp_us, until_us, &next);
        if (why) {
                pb_info("poll: %zu event(s) read, %zu delivered, %zu already delivered, %zu "
                        "failed; checkpoint stays (%s)",
                        r.events, r.delivered, r.duplicates, r.failed, why);
                return 0;
        }
        if (commit(p, next))
                return -1;
        char nb[40];
        pb_time_format_us(next, nb, sizeof(nb));
        pb_info("poll: %zu event(s) read, %zu delivered, %zu already delivered, %zu failed; "
                "checkpoint %s",
                r.events, r.delivered, r.duplicates, r.failed, nb);
        return 0;
}

static void *poll_main(void *arg)
{
        pb_poller_t *p = arg;
        while (!p->stop) {
                if (p->el) {
                        if (!pb_election_wait(p->el, 500))
                                continue; /* another replica polls */
                        uint64_t term = pb_election_term(p->el);
                        if (term != p->term) {
                                p->term = term;
                                p->started_us = 0;
                                if (take_office(p)) {
                                        p->term = 0; /* try again */
                                        pb_sleep_ms(1000);
                                        continue;
                                }
                        }
                }
                poll_once(p);
                pthread_mutex_lock(&p->lock);
                int64_t until = pb_mono_ms() + p->cfg->telnyx_poll_interval_s * 1000;
                while (!p->stop && pb_mono_ms() < until)
                        pb_cond_timedwait_ms(&p->cond, &p->lock, until - pb_mono_ms());
                pthread_mutex_unlock(&p->lock);
        }
        return NULL;
}

pb_poller_t *pb_poller_new(const pb_config_t *cfg, pb_pipeline_t *pl, pb_metrics_t *metrics,
                           pb_fail_t *fail, char *errstr, size_t errsz)
{
        int64_t cp;
        if (fail)
                *fail = PB_FAIL_CONFIG;
        int kafka = cfg->telnyx_checkpoint_store == PB_CHECKPOINT_KAFKA;
        int lock_fd = -1;
        if (!kafka) {
                /* One poller per checkpoint file. */
                if (pb_checkpoint_read(cfg->telnyx_checkpoint_file, &cp, errstr, errsz) < 0)
                        return NULL;
                lock_fd = pb_checkpoint_lock(cfg->telnyx_checkpoint_file, errstr, errsz);
                if (lock_fd == PB_CHECKPOINT_IN_USE && fail)
                        *fail = PB_FAIL_IN_USE;
                if (lock_fd < 0)
                        return NULL;
        }
        pb_poller_t *p = calloc(1, sizeof(*p));
        if (!p) {
                pb_checkpoint_unlock(lock_fd);
                pb_setfail(fail, PB_FAIL_SYSTEM, errstr, errsz, "out of memory");
                return NULL;
        }
        p->cfg = cfg;
        p->pl = pl;
        p->metrics = metrics;
        p->lock_fd = lock_fd;
        /* Exported from the start, 0 on a follower that never polls: a
         * series that appears only on the leader reads as missing. */
        if (metrics) {
                static const char *const outcomes[] = {
                    "outcome=\"delivered\"", "outcome=\"dead_lettered\"", "outcome=\"duplicate\"",
                    "outcome=\"failed\""};
                for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
                        pb_metrics_add(metrics, "portout_bridge_poll_events_total", outcomes[i], 0);
                pb_metrics_add(metrics, "portout_bridge_poll_missed_by_webhook_total", NULL, 0);
                /* 0: no successful poll yet (a follower's, until elected). */
                pb_metrics_set(metrics, "portout_bridge_poll_last_success_timestamp_seconds", NULL,
                               0);
        }
        pthread_mutex_init(&p->lock, NULL);
        pb_cond_init(&p->cond);
        p->tx = pb_telnyx_new(cfg, errstr, errsz);
        if (!p->tx)
                goto fail;
        if (kafka) {
                p->rc = pb_reconcile_new(cfg, metrics, errstr, errsz);
                p->el = p->rc ? pb_election_new(cfg, metrics, errstr, errsz) : NULL;
                if (!p->el)
                        goto fail;
        }
        pb_telnyx_set_abort_flag(p->tx, &p->stop);
        if (pthread_create(&p->thread, NULL, poll_main, p)) {
                pb_setfail(fail, PB_FAIL_SYSTEM, errstr, errsz, "cannot start the poller thread");
                goto fail;
        }
        return p;
fail:
        pb_election_free(p->el);
        pb_reconcile_free(p->rc);
        pb_telnyx_free(p->tx);
        pb_checkpoint_unlock(lock_fd);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p);
        return NULL;
}

int pb_poller_is_leader(void *ctx)
{
        pb_poller_t *p = ctx;
        return !p->el || pb_election_is_leader(p->el);
}

uint64_t pb_poller_leader_term(void *ctx)
{
        pb_poller_t *p = ctx;
        return p->el ? pb_election_leader_term(p->el) : 1;
}

int pb_poller_fence(void *ctx, const char *topic, int32_t partition, int64_t offset,
                    const char *meta, char *errstr, size_t errsz)
{
        pb_poller_t *p = ctx;
        return p->el ? pb_election_fence(p->el, topic, partition, offset, meta, errstr, errsz) : 0;
}

void pb_poller_stop(pb_poller_t *p)
{
        if (!p)
                return;
        pthread_mutex_lock(&p->lock);
        p->stop = 1;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
}

void pb_poller_free(pb_poller_t *p)
{
        if (!p)
                return;
        pb_poller_stop(p);
        pthread_join(p->thread, NULL);
        pb_election_free(p->el); /* leaves the group: another replica takes over at once */
        pb_reconcile_free(p->rc);
        pb_telnyx_free(p->tx);
        pb_checkpoint_unlock(p->lock_fd);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p);
}

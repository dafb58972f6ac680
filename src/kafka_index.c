#include "kafka_index.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "kafka_reconcile.h"
#include "log.h"
#include "pb.h"

/* A catch-up gives up after this long (the view ages meanwhile; a stop
 * waits for it at most this long). */
#define CATCH_UP_MS 2000
/* The load (the whole window) may take longer. */
#define LOAD_MS 120000
/* New topics and partitions are looked for this often. */
#define TOPIC_REFRESH_MS 5000
/* Ids older than the window are dropped this often. */
#define PRUNE_EVERY_MS 10000

struct pb_index {
        const pb_config_t *cfg;
        pb_metrics_t *metrics;
        pb_reconcile_t *r;
        pthread_t thread;
        int thread_started;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        volatile sig_atomic_t stop; /* under lock */
        atomic_int stopping;        /* the same, read by the reader's catch-ups */
        /* Set once the load is done; from then on r->ids is never replaced
         * and readers may use it. */
        atomic_int loaded;
        /* Monotonic start of the last completed catch-up (the view's time). */
        _Atomic int64_t view_ms;
};

static void gauge(pb_index_t *ix, const char *name, int64_t v)
{
        if (ix->metrics)
                pb_metrics_set(ix->metrics, name, NULL, v);
}

/* Waits ms or until stopped; returns 1 if stopped. */
static int pause_ms(pb_index_t *ix, int64_t ms)
{
        return pb_pause_unless_stopped(&ix->cond, &ix->lock, &ix->stop, ms);
}

static int stopping(pb_index_t *ix)
{
        pthread_mutex_lock(&ix->lock);
        int stop = ix->stop;
        pthread_mutex_unlock(&ix->lock);
        return stop;
}

/* The load: every record of the window, read to the ends the topics have
 * when it starts. Retried (broker down at start) until it works. */
static int load(pb_index_t *ix)
{
        char err[PB_ERRSZ];
        int64_t window_ms = ix->cfg->dedupe_ttl_s * 1000;
        for (int attempt = 0; !stopping(ix); attempt++) {
                int64_t t0 = pb_mono_ms();
                if (pb_reconcile_start(ix->r, pb_now_ms() - window_ms, err, sizeof(err)) == 0 &&
                    pb_reconcile_catch_up(ix->r, LOAD_MS, err, sizeof(err)) == 0) {
                        int64_t took = pb_mono_ms() - t0;
                        atomic_store(&ix->view_ms, t0);
                        atomic_store(&ix->loaded, 1);
                        gauge(ix, "portout_bridge_index_loaded", 1);
                        gauge(ix, "portout_bridge_index_load_milliseconds", took);
                        gauge(ix, "portout_bridge_index_ids", (int64_t)pb_reconcile_size(ix->r));
                        pb_info("index: %zu event id(s) of the last %llds loaded from the topics "
                                "in %lld ms",
                                pb_reconcile_size(ix->r), (long long)ix->cfg->dedupe_ttl_s,
                                (long long)took);
                        return 0;
                }
                if (ix->metrics)
                        pb_metrics_add(ix->metrics, "portout_bridge_index_errors_total", NULL, 1);
                if (attempt % 10 == 0)
                        pb_warn("index: cannot load the topics yet (%s); webhooks are answered "
                                "503 until it can",
                                err);
                if (pause_ms(ix, 500))
                        break;
        }
        return -1;
}

static void *index_main(void *arg)
{
        pb_index_t *ix = arg;
        if (load(ix))
                return NULL;
        char err[PB_ERRSZ];
        int64_t pruned = pb_mono_ms();
        uint64_t evicted = 0; /* the load's own evictions are counted too */
        int failing = 0;
        while (!pause_ms(ix, PB_INDEX_INTERVAL_MS)) {
                int64_t t0 = pb_mono_ms();
                if (pb_reconcile_catch_up(ix->r, CATCH_UP_MS, err, sizeof(err)) == 0) {
                        atomic_store(&ix->view_ms, t0);
                        gauge(ix, "portout_bridge_index_catch_up_milliseconds", pb_mono_ms() - t0);
                        if (failing)
                                pb_info("index: reading the topics again");
                        failing = 0;
                } else {
                        if (ix->metrics)
                                pb_metrics_add(ix->metrics, "portout_bridge_index_errors_total",
                                               NULL, 1);
                        if (failing++ % 20 == 0)
                                pb_warn("index: %s (its view ages; webhooks get 503 after "
                                        "dedupe.max_view_age_ms)",
                                        err);
                }
                if (t0 - pruned >= PRUNE_EVERY_MS) {
                        pb_reconcile_prune(ix->r, pb_now_ms() - ix->cfg->dedupe_ttl_s * 1000);
                        pruned = t0;
                }
                uint64_t ev = pb_reconcile_evicted(ix->r);
                if (ev > evicted && ix->metrics)
                        pb_metrics_add(ix->metrics, "portout_bridge_index_evicted_total", NULL,
                                       (int64_t)(ev - evicted));
                evicted = ev;
                gauge(ix, "portout_bridge_index_ids", (int64_t)pb_reconcile_size(ix->r));
        }
        return NULL;
}

pb_index_t *pb_index_new(const pb_config_t *cfg, pb_metrics_t *metrics, char *errstr, size_t errsz)
{
        pb_index_t *ix = calloc(1, sizeof(*ix));
        if (!ix) {
                pb_seterr(errstr, errsz, "out of memory");
                return NULL;
        }
        ix->cfg = cfg;
        ix->metrics = metrics;
        pthread_mutex_init(&ix->lock, NULL);
        pb_cond_init(&ix->cond);
        atomic_init(&ix->loaded, 0);
        atomic_init(&ix->stopping, 0);
        atomic_init(&ix->view_ms, 0);
        /* Its own reader, without the poller's metrics. */
        ix->r = pb_reconcile_new_follower(cfg, errstr, errsz);
        if (!ix->r) {
                pb_index_free(ix);
                return NULL;
        }
        pb_reconcile_set_capacity(ix->r, (size_t)cfg->dedupe_entries);
        pb_reconcile_set_stop(ix->r, &ix->stopping);
        pb_reconcile_set_topic_refresh(ix->r, TOPIC_REFRESH_MS);
        gauge(ix, "portout_bridge_index_loaded", 0);
        if (pthread_create(&ix->thread, NULL, index_main, ix)) {
                pb_seterr(errstr, errsz, "cannot start the index thread");
                pb_index_free(ix);
                return NULL;
        }
        ix->thread_started = 1;
        return ix;
}

int pb_index_known(pb_index_t *ix, const char *id)
{
        return atomic_load(&ix->loaded) && pb_reconcile_known(ix->r, id);
}

int pb_index_known_fn(void *ctx, const char *id)
{
        return pb_index_known(ctx, id);
}

int64_t pb_index_age_ms(pb_index_t *ix)
{
        if (!atomic_load(&ix->loaded))
                return -1;
        return pb_mono_ms() - atomic_load(&ix->view_ms);
}

int pb_index_fresh(pb_index_t *ix, int64_t max_age_ms)
{
        int64_t age = pb_index_age_ms(ix);
        return age >= 0 && age <= max_age_ms;
}

size_t pb_index_size(pb_index_t *ix)
{
        return atomic_load(&ix->loaded) ? pb_reconcile_size(ix->r) : 0;
}

void pb_index_free(pb_index_t *ix)
{
        if (!ix)
                return;
        if (ix->thread_started) {
                pthread_mutex_lock(&ix->lock);
                ix->stop = 1;
                atomic_store(&ix->stopping, 1);
                pthread_cond_broadcast(&ix->cond);
                pthread_mutex_unlock(&ix->lock);
                pthread_join(ix->thread, NULL);
        }
        pb_reconcile_free(ix->r);
        pthread_mutex_destroy(&ix->lock);
        pthread_cond_destroy(&ix->cond);
        free(ix);
}

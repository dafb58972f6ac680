#include "poller.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkpoint.h"
#include "dedupe.h"
#include "log.h"
#include "pb.h"
#include "rest_ingest.h"
#include "telnyx_client.h"
#include "timefmt.h"

struct pb_poller {
        const pb_config_t *cfg;
        pb_producer_t *prod;
        pb_metrics_t *metrics;
        pb_telnyx_t *tx;
        pb_dedupe_t *delivered; /* ids acknowledged by Kafka: the overlap skips them */
        pthread_t thread;
        volatile sig_atomic_t stop;
};

static void count(pb_poller_t *p, const char *family, const char *labels, int64_t n)
{
        if (p->metrics)
                pb_metrics_add(p->metrics, family, labels, n);
}

/* One poll. Returns 0 if the checkpoint may have moved, -1 on an API error. */
static int poll_once(pb_poller_t *p)
{
        const pb_config_t *cfg = p->cfg;
        char err[PB_ERRSZ], since[40], until[40];
        int64_t cp_us;
        int have = pb_checkpoint_read(cfg->telnyx_checkpoint_file, &cp_us, err, sizeof(err));
        if (have < 0) {
                pb_err("poll: %s", err);
                count(p, "portout_bridge_poll_errors_total", "reason=\"checkpoint\"", 1);
                return -1;
        }
        int64_t now_us = pb_now_ms() * 1000;
        if (!have)
                cp_us = now_us - cfg->telnyx_poll_lookback_s * 1000000;
        pb_time_format_us(cp_us - cfg->telnyx_poll_overlap_s * 1000000, since, sizeof(since));
        pb_time_format_us(now_us, until, sizeof(until));

        pb_scan_opts_t o;
        memset(&o, 0, sizeof(o));
        o.filter.created_gte = since;
        o.filter.created_lte = until;
        o.delivered = p->delivered;
        o.stop = &p->stop;
        o.metrics = p->metrics;
        pb_scan_result_t r;
        pb_tx_rc_t rc = pb_rest_scan(p->tx, p->prod, cfg, &o, &r, err, sizeof(err));
        count(p, "portout_bridge_poll_events_total", "outcome=\"published\"", (int64_t)r.published);
        count(p, "portout_bridge_poll_events_total", "outcome=\"skipped\"", (int64_t)r.skipped);
        count(p, "portout_bridge_poll_events_total", "outcome=\"failed\"", (int64_t)r.failed);
        if (rc != PB_TX_OK) {
                if (rc != PB_TX_ABORTED) {
                        pb_err("poll: %s%s", err,
                               rc == PB_TX_AUTH ? " (check TELNYX_API_KEY)" : "");
                        count(p, "portout_bridge_poll_errors_total", "reason=\"api\"", 1);
                }
                /* Whatever was delivered is in `delivered`; the checkpoint
                 * stays, so the next poll reads it all again. */
                return -1;
        }
        /* Everything created up to `until` was seen; move past it unless some
         * event failed, then stop just before the oldest failure. */
        int64_t next = r.failed ? r.min_failed_us - 1 : now_us;
        if (have && next <= cp_us) {
                pb_info("poll: %zu published, %zu failed; checkpoint stays at its place",
                        r.published, r.failed);
                return 0;
        }
        if (pb_checkpoint_write(cfg->telnyx_checkpoint_file, next, err, sizeof(err))) {
                pb_err("poll: %s", err);
                count(p, "portout_bridge_poll_errors_total", "reason=\"checkpoint\"", 1);
                return -1;
        }
        char nb[40];
        pb_time_format_us(next, nb, sizeof(nb));
        pb_info("poll: %zu event(s) read, %zu published, %zu already published, %zu failed; "
                "checkpoint %s",
                r.events, r.published, r.skipped, r.failed, nb);
        if (p->metrics)
                pb_metrics_set(p->metrics, "portout_bridge_poll_checkpoint_timestamp_seconds", NULL,
                               next / 1000000);
        return 0;
}

static void *poll_main(void *arg)
{
        pb_poller_t *p = arg;
        while (!p->stop) {
                poll_once(p);
                for (int64_t waited = 0; !p->stop && waited < p->cfg->telnyx_poll_interval_s * 1000;
                     waited += 100) {
                        struct timespec ts = {0, 100 * 1000000L};
                        nanosleep(&ts, NULL);
                }
        }
        return NULL;
}

pb_poller_t *pb_poller_new(const pb_config_t *cfg, pb_producer_t *prod, pb_metrics_t *metrics,
                           char *errstr, size_t errsz)
{
        int64_t cp;
        if (pb_checkpoint_read(cfg->telnyx_checkpoint_file, &cp, errstr, errsz) < 0)
                return NULL;
        pb_poller_t *p = calloc(1, sizeof(*p));
        if (!p) {
                pb_seterr(errstr, errsz, "out of memory");
                return NULL;
        }
        p->cfg = cfg;
        p->prod = prod;
        p->metrics = metrics;
        p->tx = pb_telnyx_new(cfg, errstr, errsz);
        p->delivered = pb_dedupe_new(1000000, (cfg->telnyx_poll_overlap_s + 3600) * 1000);
        if (!p->tx || !p->delivered) {
                pb_telnyx_free(p->tx);
                pb_dedupe_free(p->delivered);
                free(p);
                return NULL;
        }
        pb_telnyx_set_abort_flag(p->tx, &p->stop);
        if (pthread_create(&p->thread, NULL, poll_main, p)) {
                pb_seterr(errstr, errsz, "cannot start the poller thread");
                pb_telnyx_free(p->tx);
                pb_dedupe_free(p->delivered);
                free(p);
                return NULL;
        }
        return p;
}

void pb_poller_free(pb_poller_t *p)
{
        if (!p)
                return;
        p->stop = 1;
        pthread_join(p->thread, NULL);
        pb_telnyx_free(p->tx);
        pb_dedupe_free(p->delivered);
        free(p);
}

#include "rest_ingest.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "normalize.h"
#include "pb.h"
#include "publish.h"
#include "timefmt.h"

struct scan {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        size_t pending;
        pb_scan_result_t r;    /* callbacks write here, under lock */
        pb_scan_result_t *res; /* == &r */
        pb_dedupe_t *delivered;
        pb_metrics_t *metrics;
};

struct rec {
        struct scan *s;
        int64_t created_us;
        int rejected;
        char id[PB_MAX_ID_LEN + 1];
};

static void on_done(void *opaque, const pb_delivery_t *d)
{
        struct rec *r = opaque;
        struct scan *s = r->s;
        pb_publish_count(s->metrics, d, r->rejected);
        if (d->fate != PB_FATE_FAILED && r->id[0] && s->delivered)
                pb_dedupe_add(s->delivered, r->id, pb_now_ms());
        pthread_mutex_lock(&s->lock);
        if (d->fate == PB_FATE_FAILED) {
                s->res->failed++;
                if (r->created_us < s->res->min_failed_us)
                        s->res->min_failed_us = r->created_us;
        } else if (d->fate == PB_FATE_DEAD_LETTERED || r->rejected) {
                s->res->dead_lettered++;
        } else {
                s->res->delivered++;
        }
        s->pending--;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        free(r);
}

/* One page request; runs on the scan's thread or on a helper thread (the
 * client is only ever used by one of them at a time). */
struct fetch {
        pb_telnyx_t *tx;
        const pb_event_filter_t *filter;
        long page, size;
        json_object *page_obj;
        pb_tx_rc_t rc;
        char err[PB_ERRSZ];
};

static void fetch_main(struct fetch *f)
{
        f->rc = pb_telnyx_list_events(f->tx, f->filter, f->page, f->size, &f->page_obj, f->err,
                                      sizeof(f->err));
}

static void *fetch_thread(void *arg)
{
        fetch_main(arg);
        return NULL;
}

static int64_t meta_int(json_object *meta, const char *k, int64_t dflt)
{
        json_object *v;
        if (meta && json_object_object_get_ex(meta, k, &v) &&
            (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
                return json_object_get_int64(v);
        return dflt;
}

/* Publishes one page's items. */
static void publish_page(struct scan *s, pb_producer_t *prod, const pb_config_t *cfg,
                         const pb_scan_opts_t *o, pb_dedupe_t *published, json_object *page)
{
        int64_t now_us = pb_now_ms() * 1000;
        pb_norm_opts_t nopts = {cfg->envelope_source};
        pb_ingest_t ing = {PB_INGEST_REST, now_us};
        pb_batch_t *b = pb_normalize_parsed(&nopts, page, NULL, 0, &ing);
        if (!b)
                return;
        char received[40];
        pb_time_format_us(now_us, received, sizeof(received));
        pb_scan_result_t *res = s->res;
        for (size_t i = 0; i < b->cnt; i++) {
                const pb_norm_item_t *it = &b->items[i];
                int64_t created = 0;
                if (it->env) {
                        res->events++;
                        pb_time_parse_rfc3339(it->env->time, &created);
                        if (created > res->max_created_us)
                                res->max_created_us = created;
                        if (pb_dedupe_seen(published, it->env->id, 0) ||
                            (o->delivered &&
                             pb_dedupe_seen(o->delivered, it->env->id, pb_now_ms()))) {
                                res->skipped++;
                                continue;
                        }
                        pb_dedupe_add(published, it->env->id, 0);
                } else {
                        res->rejected++;
                        pb_warn("telnyx event rejected, sending to %s: %s", cfg->topic_dead_letter,
                                it->error);
                }
                if (o->dry_run) {
                        if (it->env) {
                                fwrite(it->env->json, 1, it->env->json_len, o->dry_out);
                                fputc('\n', o->dry_out);
                        }
                        continue;
                }
                struct rec *r = calloc(1, sizeof(*r));
                if (!r) {
                        res->failed++;
                        continue;
                }
                r->s = s;
                r->created_us = created;
                r->rejected = it->env == NULL;
                if (it->env)
                        snprintf(r->id, sizeof(r->id), "%s", it->env->id);
                pthread_mutex_lock(&s->lock);
                s->pending++;
                pthread_mutex_unlock(&s->lock);
                pb_origin_t origin = {"rest", received, NULL};
                char err[PB_ERRSZ];
                if (pb_publish_item(prod, cfg, it, &origin, on_done, r, -1, err, sizeof(err))) {
                        pb_err("telnyx event %s: %s", r->id, err);
                        pthread_mutex_lock(&s->lock);
                        s->pending--;
                        res->failed++;
                        if (created < res->min_failed_us)
                                res->min_failed_us = created;
                        pthread_mutex_unlock(&s->lock);
                        free(r);
                        continue;
                }
                res->published++;
        }
        pb_batch_free(b);
}

pb_tx_rc_t pb_rest_scan(pb_telnyx_t *tx, pb_producer_t *prod, const pb_config_t *cfg,
                        const pb_scan_opts_t *o, pb_scan_result_t *res, char *errstr, size_t errsz)
{
        /* On the heap: if we stop with records in flight, their callbacks
         * still find it (it is then deliberately not freed). */
        struct scan *s = calloc(1, sizeof(*s));
        pb_dedupe_t *published = pb_dedupe_new(SIZE_MAX / 2, INT64_MAX / 2);
        if (!s || !published) {
                free(s);
                pb_dedupe_free(published);
                memset(res, 0, sizeof(*res));
                pb_seterr(errstr, errsz, "out of memory");
                return PB_TX_UNAVAILABLE;
        }
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->cond, NULL);
        s->res = &s->r;
        s->r.min_failed_us = INT64_MAX;
        s->delivered = o->delivered;
        s->metrics = o->metrics;
        pb_scan_result_t *out = res;
        res = &s->r;
        pb_tx_rc_t rc = PB_TX_OK;

        for (int64_t pass = 1; rc == PB_TX_OK && pass <= cfg->telnyx_backfill_max_passes; pass++) {
                res->passes = (size_t)pass;
                int64_t first_total = -1, got = 0;
                int stable = 1;
                /* Page n+1 is fetched (on a helper thread) while page n is
                 * normalized and handed to Kafka. */
                struct fetch cur = {tx,   &o->filter, 1, (long)cfg->telnyx_page_size,
                                    NULL, PB_TX_OK,   ""};
                fetch_main(&cur);
                for (;;) {
                        rc = cur.rc;
                        if (rc != PB_TX_OK) {
                                pb_seterr(errstr, errsz, "%s", cur.err);
                                break;
                        }
                        res->pages++;
                        json_object *meta = NULL, *data = NULL;
                        if (!json_object_object_get_ex(cur.page_obj, "data", &data) ||
                            !json_object_is_type(data, json_type_array)) {
                                json_object_put(cur.page_obj);
                                rc = PB_TX_UNAVAILABLE;
                                pb_seterr(errstr, errsz,
                                          "page %ld: the response has no \"data\" array", cur.page);
                                break;
                        }
                        json_object_object_get_ex(cur.page_obj, "meta", &meta);
                        int64_t total = meta_int(meta, "total_results", -1);
                        int64_t total_pages = meta_int(meta, "total_pages", -1);
                        int64_t page_number = meta_int(meta, "page_number", cur.page);
                        size_t n = json_object_array_length(data);
                        if (first_total < 0)
                                first_total = total;
                        else if (total != first_total)
                                stable = 0;
                        got += (int64_t)n;
                        /* Telnyx's SDK paging rule (telnyx-api.md §2.3). */
                        int last = n == 0 || (total_pages > 0 && page_number >= total_pages) ||
                                   (total_pages < 0 && (long)n < cfg->telnyx_page_size);
                        int stopping = o->stop && *o->stop;
                        struct fetch next = {tx,       &o->filter, cur.page + 1, cur.size, NULL,
                                             PB_TX_OK, ""};
                        pthread_t th;
                        int prefetching = !last && !stopping &&
                                          pthread_create(&th, NULL, fetch_thread, &next) == 0;
                        if (n)
                                publish_page(s, prod, cfg, o, published, cur.page_obj);
                        json_object_put(cur.page_obj);
                        if (last)
                                break;
                        if (stopping) {
                                rc = PB_TX_ABORTED;
                                pb_seterr(errstr, errsz, "interrupted");
                                break;
                        }
                        if (prefetching)
                                pthread_join(th, NULL);
                        else
                                fetch_main(&next);
                        cur = next;
                }
                if (rc != PB_TX_OK)
                        break;
                res->consistent = stable && (first_total < 0 || got == first_total);
                if (res->consistent)
                        break;
                pb_info("telnyx: the event list moved while it was read (%lld events read, "
                        "total %lld); reading it again",
                        (long long)got, (long long)first_total);
        }
        if (rc == PB_TX_OK && !res->consistent)
                pb_warn("telnyx: the event list kept moving for %zu passes; events added "
                        "during the scan may be missed until the next one",
                        res->passes);

        /* Every record published gets its fate before we return. */
        pthread_mutex_lock(&s->lock);
        int64_t grace_end = pb_mono_ms() + cfg->kafka_flush_timeout_ms;
        while (s->pending > 0) {
                if (o->stop && *o->stop && pb_mono_ms() > grace_end)
                        break;
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 100 * 1000000L;
                ts.tv_sec += ts.tv_nsec / 1000000000L;
                ts.tv_nsec %= 1000000000L;
                pthread_cond_timedwait(&s->cond, &s->lock, &ts);
        }
        size_t left = s->pending;
        *out = s->r;
        pthread_mutex_unlock(&s->lock);
        pb_dedupe_free(published);
        if (left) {
                pb_warn("telnyx: %zu record(s) still in flight at shutdown", left);
                out->failed += left;
                out->min_failed_us = 0;
                return rc; /* s stays allocated for their callbacks */
        }
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->cond);
        free(s);
        return rc;
}

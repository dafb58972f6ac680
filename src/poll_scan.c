#include "poll_scan.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "json_spans.h"
#include "log.h"
#include "pb.h"

/* One scan: what the pipeline's callbacks report, under lock. */
struct scan {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        size_t pending; /* pages submitted and not yet reported */
        size_t pages;   /* pages read (the scan's thread only) */
        pb_scan_result_t r;
        int64_t fresh_since_us;
};

static void on_item(void *opaque, const pb_item_result_t *it)
{
        struct scan *s = opaque;
        pthread_mutex_lock(&s->lock);
        pb_scan_result_t *r = &s->r;
        r->events++;
        if (it->rejected)
                r->rejected++;
        if (it->created_us > r->max_created_us)
                r->max_created_us = it->created_us;
        switch (it->outcome) {
        case PB_OUTCOME_DELIVERED:
                r->delivered++;
                if (s->fresh_since_us && it->created_us >= s->fresh_since_us)
                        r->fresh++;
                break;
        case PB_OUTCOME_DEAD_LETTERED: r->dead_lettered++; break;
        case PB_OUTCOME_DUPLICATE: r->duplicates++; break;
        case PB_OUTCOME_FAILED:
                r->failed++;
                if (it->created_us < r->min_failed_us) /* 0 (unknown) wins: stay put */
                        r->min_failed_us = it->created_us;
                break;
        }
        pthread_mutex_unlock(&s->lock);
}

static void on_page_done(void *opaque, pb_doc_result_t *res)
{
        (void)res;
        struct scan *s = opaque;
        pthread_mutex_lock(&s->lock);
        s->pending--;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

/* One page request; runs on the scan's thread or on a helper thread (the
 * client is only ever used by one of them at a time). */
struct fetch {
        pb_telnyx_t *tx;
        const pb_event_filter_t *filter;
        long page, size;
        json_object *page_obj;
        char *raw; /* the page's bytes */
        size_t raw_len;
        pb_jcheck_t jc; /* their check, with the elements' spans */
        pb_tx_rc_t rc;
        char err[PB_ERRSZ];
};

static void fetch_main(struct fetch *f)
{
        memset(&f->jc, 0, sizeof(f->jc));
        f->jc.want_items = 1;
        f->rc = pb_telnyx_list_events(f->tx, f->filter, f->page, f->size, &f->page_obj, &f->raw,
                                      &f->raw_len, &f->jc, f->err, sizeof(f->err));
}

/* Frees what a fetch holds: the page, its bytes, their check. */
static void fetch_clear(struct fetch *f)
{
        json_object_put(f->page_obj);
        f->page_obj = NULL;
        free(f->raw);
        f->raw = NULL;
        pb_jcheck_free(&f->jc);
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

static void submit_page(struct scan *s, pb_pipeline_t *pl, const pb_scan_opts_t *o,
                        const struct fetch *f)
{
        pthread_mutex_lock(&s->lock);
        s->pending++;
        pthread_mutex_unlock(&s->lock);
        pb_submission_t sub;
        memset(&sub, 0, sizeof(sub));
        sub.parsed = f->page_obj; /* and its bytes: elements on the span path */
        sub.buf = f->raw;
        sub.len = f->raw_len;
        sub.checked = &f->jc; /* checked once, by the client */
        sub.path = PB_INGEST_REST;
        sub.received_us = pb_now_ms() * 1000;
        sub.wait_ms = -1; /* the scan's own thread: waiting for room is backpressure */
        sub.on_item = on_item;
        sub.on_done = on_page_done;
        sub.opaque = s;
        sub.known = o->known;
        sub.known_ctx = o->known_ctx;
        pb_pipeline_submit(pl, &sub);
}

/* Reads every page once, submitting each; *consistent says whether the list
 * held still while it was read (docs/telnyx-api.md §2). */
/* The first and last element's "id" of a page (the page's bytes if they
 * have none): two pages in a row that are one page is an API ignoring
 * page[number]. */
static uint64_t page_mark(json_object *data)
{
        size_t n = json_object_array_length(data);
        json_object *ends[2] = {json_object_array_get_idx(data, 0),
                                json_object_array_get_idx(data, n ? n - 1 : 0)};
        uint64_t h = n;
        for (int i = 0; i < 2; i++) {
                json_object *id = NULL;
                const char *s = json_object_object_get_ex(ends[i], "id", &id)
                                    ? json_object_get_string(id)
                                    : json_object_to_json_string(ends[i]);
                h = h * 1099511628211ULL ^ pb_fnv1a_str(s ? s : "");
        }
        return h;
}

/* What the scan reads of a page: its "data" array's size, the paging meta
 * (json-c's reading: a number, else the default), its mark. */
struct view {
        int has_data; /* a "data" array */
        size_t n;
        int64_t total, total_pages, page_number;
        uint64_t mark;
};

static void view_of_tree(json_object *page, long asked, struct view *v)
{
        json_object *meta = NULL, *data = NULL;
        memset(v, 0, sizeof(*v));
        v->has_data = json_object_object_get_ex(page, "data", &data) &&
                      json_object_is_type(data, json_type_array);
        if (!v->has_data)
                return;
        json_object_object_get_ex(page, "meta", &meta);
        v->total = meta_int(meta, "total_results", -1);
        v->total_pages = meta_int(meta, "total_pages", -1);
        v->page_number = meta_int(meta, "page_number", asked);
        v->n = json_object_array_length(data);
        v->mark = page_mark(data);
}

#define VIEW_MEMBERS 64

/* meta_int() from spans, when that reading is plainly json-c's (no number,
 * or -?[0-9]{1,18}): 0, else -1 (the tree will say). */
static int span_int(const pb_jmember_t *m, int cnt, const char *k, int64_t dflt, int64_t *out)
{
        const pb_jmember_t *v = m ? pb_jspan_find(m, cnt, k) : NULL;
        char c = v ? pb_jspan_kind(v->val, v->val_len) : 0;
        *out = dflt;
        if (!v || c == '"' || c == '{' || c == '[' || c == 't' || c == 'f' || c == 'n')
                return 0;
        const char *p = v->val, *end = v->val + v->val_len;
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
                p++;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
                end--;
        int neg = p < end && *p == '-';
        p += neg;
        if (end - p < 1 || end - p > 18)
                return -1;
        int64_t x = 0;
        for (; p < end; p++) {
                if (*p < '0' || *p > '9')
                        return -1;
                x = x * 10 + (*p - '0');
        }
        *out = neg ? -x : x;
        return 0;
}

/* view_of_tree() from the page's spans (a page the client did not parse):
 * 0, or -1 where only json-c's tree can say the same (a name with an escape,
 * an id that is not a plain string, a number that is not a plain integer). */
static int view_of_spans(const char *raw, size_t len, const pb_jcheck_t *jc, long asked,
                         struct view *v)
{
        pb_jmember_t top[VIEW_MEMBERS], meta[VIEW_MEMBERS];
        memset(v, 0, sizeof(*v));
        /* the client took it by its spans: its "data" array is jc's items */
        int nt = pb_jspan_members(raw, len, top, VIEW_MEMBERS);
        if (nt < 0 || !pb_json_page_by_spans(jc))
                return -1;
        const pb_jmember_t *mm = pb_jspan_find(top, nt, "meta");
        int nm = 0;
        const pb_jmember_t *mp = NULL;
        if (mm && pb_jspan_kind(mm->val, mm->val_len) == '{') {
                if ((nm = pb_jspan_members(mm->val, mm->val_len, meta, VIEW_MEMBERS)) < 0)
                        return -1;
                mp = meta;
        }
        if (span_int(mp, nm, "total_results", -1, &v->total) ||
            span_int(mp, nm, "total_pages", -1, &v->total_pages) ||
            span_int(mp, nm, "page_number", asked, &v->page_number))
                return -1;
        /* page_mark(): each end's "id" (json-c's empty array gives "null") */
        size_t n = jc->nitems;
        uint64_t h = n;
        for (int i = 0; i < 2; i++) {
                char id[PB_ERRSZ] = "null";
                if (n) {
                        const pb_jitem_t *it = &jc->items[i ? n - 1 : 0];
                        pb_jmember_t em[VIEW_MEMBERS];
                        int ne = pb_jspan_members(raw + it->off, it->len, em, VIEW_MEMBERS);
                        const pb_jmember_t *im = ne >= 0 ? pb_jspan_find(em, ne, "id") : NULL;
                        size_t il = 0;
                        const char *is = im ? pb_jspan_plain_str(im->val, im->val_len, &il) : NULL;
                        if (!is || il >= sizeof(id) || memchr(is, '\0', il))
                                return -1;
                        memcpy(id, is, il);
                        id[il] = '\0';
                }
                h = h * 1099511628211ULL ^ pb_fnv1a_str(id);
        }
        v->has_data = 1;
        v->n = n;
        v->mark = h;
        return 0;
}

/* Why a page cannot be the one asked for (NULL: it can): more elements than
 * page[size], another page_number than the one asked, the same page again,
 * more pages than one pass may read. */
static const char *page_problem(const pb_config_t *cfg, long asked, int64_t page_number, size_t n,
                                uint64_t mark, uint64_t last_mark, char *buf, size_t bufsz)
{
        if ((int64_t)n > cfg->telnyx_page_size)
                snprintf(buf, bufsz, "page %ld has %zu events, more than page[size] %lld", asked, n,
                         (long long)cfg->telnyx_page_size);
        else if (page_number != asked)
                snprintf(
                    buf, bufsz,
                    "asked for page %ld, the API answered page %lld (it ignores page[number]?)",
                    asked, (long long)page_number);
        else if (asked > 1 && n && mark == last_mark)
                snprintf(buf, bufsz, "page %ld holds what page %ld held (it ignores page[number]?)",
                         asked, asked - 1);
        else if (asked > cfg->telnyx_max_pages)
                snprintf(buf, bufsz, "more than telnyx.max_pages (%lld) pages in one pass",
                         (long long)cfg->telnyx_max_pages);
        else
                return NULL;
        return buf;
}

static pb_tx_rc_t scan_pass(struct scan *s, pb_telnyx_t *tx, pb_pipeline_t *pl,
                            const pb_config_t *cfg, const pb_scan_opts_t *o, int *consistent,
                            char *errstr, size_t errsz)
{
        int64_t first_total = -1, got = 0;
        int stable = 1;
        uint64_t last_mark = 0;
        /* Page n+1 is fetched (on a helper thread) while page n is normalized
         * and handed to Kafka. */
        struct fetch cur = {.tx = tx,
                            .filter = &o->filter,
                            .page = 1,
                            .size = (long)cfg->telnyx_page_size,
                            .rc = PB_TX_OK};
        fetch_main(&cur);
        for (;;) {
                if (cur.rc != PB_TX_OK) {
                        fetch_clear(&cur);
                        pb_seterr(errstr, errsz, "%s", cur.err);
                        return cur.rc;
                }
                s->pages++;
                struct view v;
                if (cur.page_obj ||
                    view_of_spans(cur.raw, cur.raw_len, &cur.jc, cur.page, &v) != 0) {
                        if (!cur.page_obj) { /* the spans cannot say: json-c's tree can */
                                char pwhy[PB_ERRSZ];
                                cur.page_obj =
                                    pb_json_parse(cur.raw, cur.raw_len, pwhy, sizeof(pwhy));
                        }
                        view_of_tree(cur.page_obj, cur.page, &v);
                }
                if (!v.has_data) {
                        fetch_clear(&cur);
                        return pb_seterr(errstr, errsz,
                                         "page %ld: the response has no \"data\" array", cur.page),
                               PB_TX_UNAVAILABLE;
                }
                int64_t total = v.total, total_pages = v.total_pages, page_number = v.page_number;
                size_t n = v.n;
                uint64_t mark = v.mark;
                char bad[PB_ERRSZ];
                if (page_problem(cfg, cur.page, page_number, n, mark, last_mark, bad,
                                 sizeof(bad))) {
                        fetch_clear(&cur);
                        return pb_seterr(errstr, errsz, "%s; this pass stops here", bad),
                               PB_TX_UNAVAILABLE;
                }
                last_mark = mark;
                if (o->progress) {
                        atomic_store(&o->progress->pages, (int64_t)cur.page);
                        atomic_store(&o->progress->total_pages, total_pages > 0 ? total_pages : 0);
                }
                if (first_total < 0)
                        first_total = total;
                else if (total != first_total)
                        stable = 0;
                got += (int64_t)n;
                /* Telnyx's SDK paging rule (docs/telnyx-api.md §2). */
                int last = n == 0 || (total_pages > 0 && page_number >= total_pages) ||
                           (total_pages < 0 && (long)n < cfg->telnyx_page_size);
                char why[PB_ERRSZ] = "interrupted";
                int stopping = (o->stop && *o->stop) ||
                               (n && o->before_page &&
                                o->before_page(o->before_page_ctx, why, sizeof(why)) != 0);
                struct fetch next = {.tx = tx,
                                     .filter = &o->filter,
                                     .page = cur.page + 1,
                                     .size = cur.size,
                                     .rc = PB_TX_OK};
                pthread_t th;
                int prefetching =
                    !last && !stopping && pthread_create(&th, NULL, fetch_thread, &next) == 0;
                if (n && !stopping)
                        submit_page(s, pl, o, &cur);
                fetch_clear(&cur);
                if (stopping) {
                        pb_seterr(errstr, errsz, "%s", why);
                        return PB_TX_ABORTED;
                }
                if (last)
                        break;
                if (prefetching)
                        pthread_join(th, NULL);
                else
                        fetch_main(&next);
                cur = next;
        }
        *consistent = stable && (first_total < 0 || got == first_total);
        if (!*consistent)
                pb_info("telnyx: the event list moved while it was read (%lld events read, "
                        "total %lld); reading it again",
                        (long long)got, (long long)first_total);
        return PB_TX_OK;
}

pb_tx_rc_t pb_rest_scan(pb_telnyx_t *tx, pb_pipeline_t *pl, const pb_config_t *cfg,
                        const pb_scan_opts_t *o, pb_scan_result_t *res, char *errstr, size_t errsz)
{
        struct scan s;
        memset(&s, 0, sizeof(s));
        pthread_mutex_init(&s.lock, NULL);
        pb_cond_init(&s.cond);
        s.r.min_failed_us = INT64_MAX;
        s.fresh_since_us = o->fresh_since_us;
        pb_tx_rc_t rc = PB_TX_OK;
        size_t passes = 0;
        int consistent = 0;
        while (rc == PB_TX_OK && !consistent && (int64_t)passes < cfg->telnyx_backfill_max_passes) {
                passes++;
                rc = scan_pass(&s, tx, pl, cfg, o, &consistent, errstr, errsz);
        }
        if (rc == PB_TX_OK && !consistent)
                pb_warn("telnyx: the event list kept moving for %zu passes; events added "
                        "during the scan may be missed until the next one",
                        passes);

        /* Every page submitted gets its report before we return: the
         * pipeline guarantees it, at the latest when it closes. */
        pthread_mutex_lock(&s.lock);
        while (s.pending > 0)
                pb_cond_timedwait_ms(&s.cond, &s.lock, 1000);
        *res = s.r;
        pthread_mutex_unlock(&s.lock);
        res->pages = s.pages;
        res->passes = passes;
        res->consistent = consistent;
        pthread_mutex_destroy(&s.lock);
        pthread_cond_destroy(&s.cond);
        return rc;
}

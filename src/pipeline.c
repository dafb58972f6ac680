#include "pipeline.h"

#include <json-c/json.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dedupe.h"
#include "idmap.h"
#include "log.h"
#include "pb.h"
#include "privacy.h"
#include "publish.h"
#include "timefmt.h"

/* Key of a rejected item: "sha256:" and 64 hex digits. */
#define REJECT_KEY_LEN (7 + 64)
#define KEY_MAX        (PB_MAX_ID_LEN > REJECT_KEY_LEN ? PB_MAX_ID_LEN : REJECT_KEY_LEN)

struct item;

/* An id on its way to Kafka, and the items that wait for its fate. */
struct flight {
        pb_idnode_t node; /* first: in pl->flights by id */
        struct item *followers;
        uint64_t content; /* the publisher's payload hash (0: a rejection) */
        char id[];
};

/* One submitted document. Freed after on_done. */
struct doc {
        pb_pipeline_t *pl;
        pb_ingest_path_t path;
        size_t pending; /* items waiting for their fate */
        int held;       /* submit() is still adding items: not finished before it ends */
        pb_doc_result_t res;
        pb_item_fn *on_item;
        pb_doc_done_fn *on_done;
        void *opaque;
        char *origin; /* "file:line", for the log; may be NULL */
        int64_t received_us;
        pb_span_t *spans; /* its events' spans, exported once it is done */
        size_t nspans, capspans;
};

/* One item: the publisher of a record, or a follower of another's. */
struct item {
        struct doc *doc;
        struct flight *fl;    /* the flight it publishes (NULL: no dedupe, or a follower) */
        struct item *next;    /* follower chain */
        const char *dl_stage; /* a rejection's pb_stage (static) */
        uint64_t content;     /* the payload hash of an envelope, else 0 */
        int64_t created_us;
        char *event_type;     /* NULL for a rejection; points into this allocation */
        char *portout_id;     /* likewise */
        char *error;          /* the normalizer's reason, for a rejection; likewise */
        pb_trace_ids_t trace; /* its trace and span */
        int traced;           /* trace is set (tracing.propagate) */
        char id[];
};

struct pb_pipeline {
        const pb_config_t *cfg;
        pb_metrics_t *metrics;
        pb_producer_t *prod;
        pb_span_export_t *spans; /* NULL: no span export */
        FILE *dry_run;
        pthread_mutex_t dry_lock;
        pthread_mutex_t lock; /* flights, window decisions, documents, stats */
        pthread_cond_t cond;  /* in_flight went down */
        pb_dedupe_t *window;  /* delivered ids; NULL: no dedupe */
        pb_idmap_t flights;   /* ids in flight */
        int closing;
        _Atomic uint64_t failed_closing; /* failures while closing, logged once at the end */
        pb_pipeline_stats_t st;
};

const char *pb_outcome_name(pb_outcome_t o)
{
        switch (o) {
        case PB_OUTCOME_DELIVERED: return "delivered";
        case PB_OUTCOME_DEAD_LETTERED: return "dead_lettered";
        case PB_OUTCOME_DUPLICATE: return "duplicate";
        case PB_OUTCOME_FAILED: break;
        }
        return "failed";
}

/* --- the in-flight map (caller holds pl->lock) --- */

static struct flight *flight_get(pb_pipeline_t *pl, const char *id)
{
        return (struct flight *)pb_idmap_get(&pl->flights, id);
}

static struct flight *flight_add(pb_pipeline_t *pl, const char *id)
{
        size_t n = strlen(id);
        struct flight *f = malloc(sizeof(*f) + n + 1);
        if (!f)
                return NULL;
        memcpy(f->id, id, n + 1);
        f->followers = NULL;
        f->content = 0;
        pb_idmap_add(&pl->flights, &f->node);
        return f;
}

static void flight_del(pb_pipeline_t *pl, struct flight *f)
{
        pb_idmap_del(&pl->flights, &f->node);
}

/* --- counting and settling --- */

static void count(pb_pipeline_t *pl, struct doc *d, const pb_item_result_t *r)
{
        pb_doc_result_t *res = &d->res;
        res->items++;
        pl->st.items++;
        switch (r->outcome) {
        case PB_OUTCOME_DELIVERED:
                res->delivered++;
                pl->st.delivered++;
                break;
        case PB_OUTCOME_DEAD_LETTERED:
                res->dead_lettered++;
                pl->st.dead_lettered++;
                break;
        case PB_OUTCOME_DUPLICATE:
                res->duplicates++;
                pl->st.duplicates++;
                break;
        case PB_OUTCOME_FAILED:
                res->failed++;
                res->maybe_persisted += r->maybe_persisted != 0;
                pl->st.failed++;
                break;
        }
        if (r->reason &&
            (r->outcome == PB_OUTCOME_FAILED || r->outcome == PB_OUTCOME_DEAD_LETTERED))
                snprintf(res->reason, sizeof(res->reason), "%s", r->reason);
        if (r->topic && r->outcome != PB_OUTCOME_FAILED && r->outcome != PB_OUTCOME_DUPLICATE)
                for (int i = 0; i < PB_PIPELINE_TOPICS; i++)
                        if (pl->st.topics[i].topic && strcmp(pl->st.topics[i].topic, r->topic) == 0)
                                pl->st.topics[i].n++;
}

static void count_metrics(pb_pipeline_t *pl, struct doc *d, const pb_item_result_t *r, int busy)
{
        pb_metrics_t *m = pl->metrics;
        char labels[256];
        if (!m || pl->dry_run)
                return;
        switch (r->outcome) {
        case PB_OUTCOME_FAILED:
                pb_metrics_label(labels, sizeof(labels), "error",
                                 busy ? "busy" : pb_producer_err_name(r->err));
                pb_metrics_add(m, "portout_bridge_delivery_failures_total", labels, 1);
                return;
        case PB_OUTCOME_DUPLICATE:
                pb_metrics_label(labels, sizeof(labels), "ingest", pb_ingest_name(d->path));
                pb_metrics_add(m, "portout_bridge_duplicates_total", labels, 1);
                return;
        case PB_OUTCOME_DEAD_LETTERED:
                pb_metrics_label(labels, sizeof(labels), "stage",
                                 r->rejected ? (r->dl_stage ? r->dl_stage : "normalize")
                                             : "produce");
                pb_metrics_add(m, "portout_bridge_events_dead_lettered_total", labels, 1);
                break;
        case PB_OUTCOME_DELIVERED: break;
        }
        pb_metrics_label(labels, sizeof(labels), "topic", r->topic ? r->topic : "");
        pb_metrics_add(m, "portout_bridge_events_published_total", labels, 1);
}

static void finish(struct doc *d)
{
        d->on_done(d->opaque, &d->res);
        /* The spans end with the answer: a webhook's is known now. */
        if (d->nspans) {
                for (size_t i = 0; i < d->nspans; i++)
                        d->spans[i].answer = d->res.answer;
                pb_span_export_add(d->pl->spans, d->spans, d->nspans);
        }
        free(d->spans);
        free(d->origin);
        free(d);
}

/* Keeps the span of an item's fate for when its document is done. Caller
 * holds pl->lock. Out of memory, the span is dropped (tracing never fails
 * an event). */
static void keep_span(struct doc *d, const pb_item_result_t *r)
{
        if (d->nspans == d->capspans) {
                size_t cap = d->capspans ? d->capspans * 2 : 1;
                pb_span_t *s = realloc(d->spans, cap * sizeof(*s));
                if (!s)
                        return;
                d->spans = s;
                d->capspans = cap;
        }
        pb_span_t *s = &d->spans[d->nspans++];
        memset(s, 0, sizeof(*s));
        memcpy(s->trace_id, r->trace->trace_id, 16);
        memcpy(s->span_id, r->trace->span_id, 8);
        memcpy(s->parent_id, r->trace->parent_id, 8);
        s->has_parent = r->trace->has_parent;
        s->start_us = d->received_us;
        s->end_us = pb_now_ms() * 1000;
        s->ingest = pb_ingest_name(d->path);
        s->outcome = pb_outcome_name(r->outcome);
        s->error = r->outcome == PB_OUTCOME_FAILED;
        s->partition = r->topic ? r->partition : -1;
        s->offset = r->topic ? r->offset : -1;
        snprintf(s->event_id, sizeof(s->event_id), "%s", r->id);
        snprintf(s->event_type, sizeof(s->event_type), "%s", r->event_type ? r->event_type : "");
        snprintf(s->topic, sizeof(s->topic), "%s", r->topic ? r->topic : "");
}

/* One line per outcome: at log.delivery_level; a failure at warn (its source
 * retries: Telnyx, the next poll), or at error from a file (nothing does). */
#define CLOSING_LINES 10

static void log_outcome(pb_pipeline_t *pl, struct doc *d, const pb_item_result_t *r)
{
        enum pb_log_level lvl = (enum pb_log_level)pl->cfg->log_delivery_level;
        /* Stopped in the middle of a page of a backfill: the first few
         * failures say what they were, one line at the end how many more,
         * not one line an event (147,000). */
        if (r->outcome == PB_OUTCOME_FAILED && pb_pipeline_closing(pl) &&
            atomic_fetch_add(&pl->failed_closing, 1) >= CLOSING_LINES)
                return;
        if (r->outcome == PB_OUTCOME_FAILED)
                lvl = d->path == PB_INGEST_FILE ? PB_LOG_ERROR : PB_LOG_WARN;
        if (!pb_log_enabled(lvl) || pl->dry_run)
                return;
        char part[16], off[24];
        pb_log_field_t f[11];
        size_t n = 0;
        f[n++] = (pb_log_field_t){"event_id", r->id, 0};
        if (r->trace_id && *r->trace_id)
                f[n++] = (pb_log_field_t){"trace_id", r->trace_id, 0};
        if (d->origin)
                f[n++] = (pb_log_field_t){"origin", d->origin, 0};
        if (r->portout_id)
                f[n++] = (pb_log_field_t){"portout_id", r->portout_id, 0};
        if (r->event_type)
                f[n++] = (pb_log_field_t){"event_type", r->event_type, 0};
        f[n++] = (pb_log_field_t){"ingest", pb_ingest_name(d->path), 0};
        f[n++] = (pb_log_field_t){"outcome", pb_outcome_name(r->outcome), 0};
        if (r->topic) {
                snprintf(part, sizeof(part), "%d", (int)r->partition);
                snprintf(off, sizeof(off), "%lld", (long long)r->offset);
                f[n++] = (pb_log_field_t){"topic", r->topic, 0};
                f[n++] = (pb_log_field_t){"partition", part, 1};
                f[n++] = (pb_log_field_t){"offset", off, 1};
        }
        if (r->reason && r->outcome != PB_OUTCOME_DELIVERED)
                f[n++] = (pb_log_field_t){"error", r->reason, 0};
        pb_log_fields(lvl, f, n, "event %s", pb_outcome_name(r->outcome));
}

/* Reports, counts and logs one item's fate. Called without pl->lock. */
static void report(pb_pipeline_t *pl, struct doc *d, const pb_item_result_t *r, int busy)
{
        if (d->on_item)
                d->on_item(d->opaque, r);
        count_metrics(pl, d, r, busy);
        log_outcome(pl, d, r);
        pthread_mutex_lock(&pl->lock);
        count(pl, d, r);
        if (busy)
                d->res.busy = 1;
        if (pl->spans && r->trace)
                keep_span(d, r);
        pthread_mutex_unlock(&pl->lock);
}

/* The fate of an item the document was waiting for: reported, and the
 * document finished after its last. Called without pl->lock. */
static void settle(pb_pipeline_t *pl, struct doc *d, const pb_item_result_t *r, int busy)
{
        report(pl, d, r, busy);
        pthread_mutex_lock(&pl->lock);
        int done = --d->pending == 0 && !d->held;
        pthread_mutex_unlock(&pl->lock);
        if (done)
                finish(d);
}

/* A result without a place in Kafka; no event type: a rejection. */
static pb_item_result_t result_of(pb_outcome_t o, const char *id, const char *event_type,
                                  const char *portout_id, const char *dl_stage, int64_t created_us,
                                  const char *reason)
{
        return (pb_item_result_t){.outcome = o,
                                  .id = id,
                                  .event_type = event_type,
                                  .portout_id = portout_id,
                                  .rejected = event_type == NULL,
                                  .dl_stage = dl_stage,
                                  .created_us = created_us,
                                  .partition = -1,
                                  .offset = -1,
                                  .reason = reason,
                                  .trace_id = ""};
}

static pb_item_result_t item_result(const struct item *it, pb_outcome_t o, const char *reason)
{
        pb_item_result_t r = result_of(o, it->id, it->event_type, it->portout_id, it->dl_stage,
                                       it->created_us, reason);
        if (it->traced) {
                r.trace_id = it->trace.trace_id_hex;
                r.trace = &it->trace;
        }
        return r;
}

/* An item's flight ends: returns the items that followed it. remember: its
 * id joins the window before its flight ends, under one lock, so another
 * copy sees one or the other, never neither. */
static struct item *land(pb_pipeline_t *pl, struct item *it, int remember)
{
        struct item *followers = NULL;
        pthread_mutex_lock(&pl->lock);
        pl->st.in_flight--;
        pthread_cond_broadcast(&pl->cond);
        if (it->fl) {
                if (remember)
                        pb_dedupe_add_content(pl->window, it->id, pb_mono_ms(), it->content);
                flight_del(pl, it->fl);
                followers = it->fl->followers;
        }
        pthread_mutex_unlock(&pl->lock);
        return followers;
}

/* Settles the items that followed a flight, once the publisher's fate is
 * known: its success makes them duplicates, its failure fails them too. */
static void settle_followers(pb_pipeline_t *pl, struct item *f, pb_outcome_t publisher,
                             const char *reason, int maybe)
{
        char why[512];
        if (publisher == PB_OUTCOME_FAILED)
                snprintf(why, sizeof(why), "an earlier copy of this event was not delivered: %s",
                         reason ? reason : "failed");
        while (f) {
                struct item *next = f->next;
                pb_item_result_t r = item_result(
                    f, publisher == PB_OUTCOME_FAILED ? PB_OUTCOME_FAILED : PB_OUTCOME_DUPLICATE,
                    publisher == PB_OUTCOME_FAILED ? why : NULL);
                r.maybe_persisted = maybe;
                settle(pl, f->doc, &r, 0);
                free(f);
                f = next;
        }
}

/* Settles an item, then its followers, with its result r; frees it. */
static void settle_flight(pb_pipeline_t *pl, struct item *it, struct item *followers,
                          const pb_item_result_t *r, int busy)
{
        settle(pl, it->doc, r, busy);
        settle_followers(pl, followers, r->outcome, r->reason, r->maybe_persisted);
        free(it->fl);
        free(it);
}

/* Producer callback: a published item's fate. */
static void on_record(void *opaque, const pb_delivery_t *dl)
{
        struct item *it = opaque;
        pb_outcome_t o = dl->fate == PB_FATE_FAILED          ? PB_OUTCOME_FAILED
                         : dl->fate == PB_FATE_DEAD_LETTERED ? PB_OUTCOME_DEAD_LETTERED
                         : !it->event_type                   ? PB_OUTCOME_DEAD_LETTERED
                                                             : PB_OUTCOME_DELIVERED;
        struct item *followers = land(it->doc->pl, it, o != PB_OUTCOME_FAILED);
        pb_item_result_t r = item_result(it, o, dl->reason);
        if (o != PB_OUTCOME_FAILED) {
                r.topic = dl->topic;
                r.partition = dl->partition;
                r.offset = dl->offset;
        }
        r.err = dl->err;
        r.maybe_persisted = o == PB_OUTCOME_FAILED && dl->maybe_persisted;
        if (!it->event_type && o == PB_OUTCOME_DEAD_LETTERED && !r.reason)
                r.reason = it->error ? it->error : "rejected by the normalizer";
        settle_flight(it->doc->pl, it, followers, &r, 0);
}

/* --- submission --- */

/* A fate decided here, without Kafka (a duplicate or a refusal), reported. */
static void decide_traced(pb_pipeline_t *pl, struct doc *d, const pb_trace_t *tr, pb_outcome_t o,
                          const char *id, const pb_envelope_t *e, const char *reason, int busy)
{
        pb_item_result_t r = result_of(o, id, e ? e->event_type : NULL, e ? e->portout_id : NULL,
                                       e ? NULL : "normalize", e ? e->created_us : 0, reason);
        pb_trace_ids_t ids;
        if (tr) {
                pb_trace_ids(tr, &ids);
                r.trace_id = ids.trace_id_hex;
                r.trace = &ids;
        }
        report(pl, d, &r, busy);
}

static void decide(pb_pipeline_t *pl, struct doc *d, pb_outcome_t o, const char *id,
                   const pb_envelope_t *e, const char *reason, int busy)
{
        decide_traced(pl, d, NULL, o, id, e, reason, busy);
}

static struct item *item_new(struct doc *d, const char *id, const pb_envelope_t *e,
                             const char *error)
{
        const char *event_type = e ? e->event_type : NULL;
        size_t n = strlen(id), t = e ? strlen(e->event_type) + 1 : 0;
        size_t pl = e ? strlen(e->portout_id) + 1 : 0;
        size_t el = error ? strlen(error) + 1 : 0;
        struct item *it = malloc(sizeof(*it) + n + 1 + t + pl + el);
        if (!it)
                return NULL;
        it->doc = d;
        it->fl = NULL;
        it->next = NULL;
        it->dl_stage = e ? NULL : "normalize";
        it->content = e ? e->payload_hash : 0;
        it->created_us = e ? e->created_us : 0;
        it->traced = 0;
        memcpy(it->id, id, n + 1);
        it->event_type = it->portout_id = NULL;
        if (e) {
                it->event_type = it->id + n + 1;
                memcpy(it->event_type, event_type, t);
                it->portout_id = it->event_type + t;
                memcpy(it->portout_id, e->portout_id, pl);
        }
        it->error = NULL;
        if (error) {
                it->error = it->id + n + 1 + t + pl;
                memcpy(it->error, error, el);
        }
        return it;
}

/* A rejected item has no id of its own: the SHA-256 of its bytes stands in,
 * so the same rejection read again (a poll overlap, a backfill pass) is
 * recognized and dead-lettered once. */
static void reject_key(const pb_norm_item_t *ni, char *out, size_t outsz)
{
        char id[PB_RECORD_REJECT_ID_LEN + 1];
        pb_record_reject_id(ni->raw, ni->raw ? ni->raw_len : 0, id);
        snprintf(out, outsz, "%s", id);
}

/* Dry run: the envelope is printed, nothing is published. */
static void dry_publish(pb_pipeline_t *pl, const pb_norm_item_t *ni, struct item *it)
{
        if (ni->env) {
                pthread_mutex_lock(&pl->dry_lock);
                fwrite(ni->env->json, 1, ni->env->json_len, pl->dry_run);
                fputc('\n', pl->dry_run);
                pthread_mutex_unlock(&pl->dry_lock);
        }
        pb_delivery_t dl = {PB_FATE_DELIVERED, pb_publish_topic(pl->cfg, ni), -1, -1, 0, NULL, 0};
        on_record(it, &dl);
}

/* Fails an item that never reached the producer, and whatever followed it. */
static void refuse(pb_pipeline_t *pl, struct item *it, const char *reason, int busy)
{
        struct item *followers = land(pl, it, 0);
        pb_item_result_t r = item_result(it, PB_OUTCOME_FAILED, reason);
        settle_flight(pl, it, followers, &r, busy);
}

/* submit_item(); a conflict's bytes with the privacy policy on them go
 * into *scrubbed (the caller frees it once they are sent). */
static void submit_item_in(pb_pipeline_t *pl, struct doc *d, const pb_submission_t *s,
                           const pb_norm_item_t *ni, const pb_provenance_t *prov,
                           const pb_trace_t *tr, char **scrubbed_out)
{
        char key[KEY_MAX + 1];
        const pb_envelope_t *e = ni->env;
        if (e)
                snprintf(key, sizeof(key), "%s", e->id);
        else
                reject_key(ni, key, sizeof(key));
        int64_t now = pb_mono_ms();

        /* Without a window, `known` decides alone; with one, it is asked
         * after the window, which knows payloads (a conflict is not a
         * duplicate) and copies on their way. */
        if (!pl->window && s->known && s->known(s->known_ctx, key)) {
                decide_traced(pl, d, tr, PB_OUTCOME_DUPLICATE, key, e, NULL, 0);
                return;
        }
        pthread_mutex_lock(&pl->lock);
        if (pl->closing) {
                pthread_mutex_unlock(&pl->lock);
                decide_traced(pl, d, tr, PB_OUTCOME_FAILED, key, e, "the bridge is shutting down",
                              1);
                return;
        }
        struct flight *fl = NULL;
        pb_norm_item_t conflict;
        char why[PB_ERRSZ];
        if (pl->window) {
                /* Signed bodies only: a polled record's payload may be
                 * written otherwise (member order) for the same content. */
                uint64_t content = e && d->path == PB_INGEST_WEBHOOK ? e->payload_hash : 0;
                int seen = pb_dedupe_seen_content(pl->window, key, now, content);
                struct flight *cur = flight_get(pl, key);
                if (seen == 2 ||
                    (!seen && cur && content && cur->content && cur->content != content)) {
                        /* The same event id, another payload: never dropped as
                         * a duplicate, never published over the first. This
                         * copy goes to the dead-letter topic, its bytes kept. */
                        snprintf(why, sizeof(why),
                                 "conflict: event %s is already delivered (or on its way) with "
                                 "another payload; this copy is kept here",
                                 key);
                        memset(&conflict, 0, sizeof(conflict));
                        conflict.error = why;
                        conflict.raw = ni->raw;
                        conflict.raw_len = ni->raw_len;
                        conflict.dl_stage = "conflict";
                        /* An envelope's bytes as they came: the privacy
                         * policy goes on before they leave, and before they
                         * are hashed into the rejection's name. */
                        size_t sn;
                        char *scrubbed = NULL;
                        int src = pb_privacy_scrub(pl->cfg->privacy, ni->raw, ni->raw_len,
                                                   &scrubbed, &sn);
                        *scrubbed_out = scrubbed;
                        if (src < 0) {
                                pthread_mutex_unlock(&pl->lock);
                                decide_traced(pl, d, tr, PB_OUTCOME_FAILED, key, e, "out of memory",
                                              1);
                                return;
                        }
                        if (src > 0) {
                                conflict.raw = scrubbed;
                                conflict.raw_len = sn;
                                conflict.redacted = 1;
                        }
                        ni = &conflict;
                        e = NULL;
                        content = 0;
                        reject_key(ni, key, sizeof(key));
                        seen = pb_dedupe_seen(pl->window, key, now);
                        cur = flight_get(pl, key);
                }
                /* Kafka holds it, as far as the predicate knows (the
                 * poller's reconcile, the index: another replica, an
                 * earlier run). Cheap lookups under their own locks. */
                if (!seen && !cur && s->known && s->known(s->known_ctx, key))
                        seen = 1;
                if (seen) {
                        pthread_mutex_unlock(&pl->lock);
                        decide_traced(pl, d, tr, PB_OUTCOME_DUPLICATE, key, e, NULL, 0);
                        return;
                }
                if (cur) {
                        /* Still on its way from an earlier copy: follow it. */
                        struct item *f = item_new(d, key, e, e ? NULL : ni->error);
                        if (f && tr) {
                                pb_trace_ids(tr, &f->trace);
                                f->traced = 1;
                        }
                        if (f) {
                                f->next = cur->followers;
                                cur->followers = f;
                                d->pending++;
                                pthread_mutex_unlock(&pl->lock);
                                return;
                        }
                        pthread_mutex_unlock(&pl->lock);
                        decide_traced(pl, d, tr, PB_OUTCOME_FAILED, key, e, "out of memory", 1);
                        return;
                }
                fl = flight_add(pl, key);
                if (fl)
                        fl->content = content;
        }
        struct item *it = item_new(d, key, e, e ? NULL : ni->error);
        if (it && tr) {
                pb_trace_ids(tr, &it->trace);
                it->traced = 1;
        }
        if (it && ni->dl_stage)
                it->dl_stage = ni->dl_stage;
        if (it && d->path != PB_INGEST_WEBHOOK)
                it->content = 0;
        if (!it || (pl->window && !fl)) {
                if (fl)
                        flight_del(pl, fl);
                pthread_mutex_unlock(&pl->lock);
                free(fl);
                free(it);
                decide_traced(pl, d, tr, PB_OUTCOME_FAILED, key, e, "out of memory", 1);
                return;
        }
        d->pending++;
        pl->st.in_flight++;
        it->fl = fl;
        pthread_mutex_unlock(&pl->lock);

        if (!e && prov->origin)
                pb_warn("%s: rejected, sending to %s: %s", prov->origin, pl->cfg->topic_dead_letter,
                        ni->error);
        else if (!e)
                pb_warn("%s event rejected, sending to %s: %s", prov->ingest,
                        pl->cfg->topic_dead_letter, ni->error);
        if (pl->dry_run) {
                dry_publish(pl, ni, it);
                return;
        }
        char err[PB_ERRSZ];
        int rc = pb_publish_item(pl->prod, pl->cfg, ni, prov, tr, on_record, it, s->wait_ms, err,
                                 sizeof(err));
        if (rc != PB_SEND_OK)
                refuse(pl, it, err, rc == PB_SEND_BUSY || rc == PB_SEND_CLOSED);
}

/* One item of a document: decided at once (a duplicate, a refusal), made to
 * follow a copy on its way, or published. */
static void submit_item(pb_pipeline_t *pl, struct doc *d, const pb_submission_t *s,
                        const pb_norm_item_t *ni, const pb_provenance_t *prov)
{
        char *scrubbed = NULL;
        /* Its trace: the webhook caller's, when it sent a valid one, else a
         * new one; the bridge's span in it either way (trace.h). */
        pb_trace_t tr, *trp = NULL;
        if (pl->cfg->tracing_propagate) {
                pb_trace_begin(&tr, s->traceparent, s->tracestate);
                trp = &tr;
        }
        submit_item_in(pl, d, s, ni, prov, trp, &scrubbed);
        free(scrubbed); /* the producer copied what it sends */
}

/* Each submitting thread (HTTP workers, pollers) keeps one json-c parser:
 * allocating its stack per document was a large-bin calloc per request
 * (docs/performance.md). Freed when the thread exits, or by
 * pb_pipeline_free() for the thread that frees the pipeline. */
static pthread_key_t tok_key;
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;
static int tok_key_ok;

static void tok_free(void *t)
{
        json_tokener_free(t);
}

static void tok_key_new(void)
{
        tok_key_ok = pthread_key_create(&tok_key, tok_free) == 0;
}

/* Frees this thread's parser, if it has one. */
static void thread_tok_free(void)
{
        struct json_tokener *t = tok_key_ok ? pthread_getspecific(tok_key) : NULL;
        if (t) {
                json_tokener_free(t);
                pthread_setspecific(tok_key, NULL);
        }
}

/* This thread's parser, or NULL (then pb_normalize allocates one). */
static struct json_tokener *thread_tok(void)
{
        pthread_once(&tok_once, tok_key_new);
        if (!tok_key_ok)
                return NULL;
        struct json_tokener *t = pthread_getspecific(tok_key);
        if (!t && (t = json_tokener_new()) && pthread_setspecific(tok_key, t) != 0) {
                json_tokener_free(t);
                t = NULL;
        }
        return t;
}

void pb_pipeline_submit(pb_pipeline_t *pl, const pb_submission_t *s)
{
        struct doc *d = calloc(1, sizeof(*d));
        if (!d) {
                /* Not even the document: say so the only way left. */
                pb_doc_result_t res;
                memset(&res, 0, sizeof(res));
                res.items = res.failed = 1;
                res.busy = 1;
                snprintf(res.reason, sizeof(res.reason), "out of memory");
                pb_batch_free(s->normalized);
                s->on_done(s->opaque, &res);
                return;
        }
        d->pl = pl;
        d->path = s->path;
        d->held = 1; /* on_done waits for the loop below */
        d->on_item = s->on_item;
        d->on_done = s->on_done;
        d->opaque = s->opaque;
        d->origin = s->origin ? strdup(s->origin) : NULL;
        d->received_us = s->received_us;
        pthread_mutex_lock(&pl->lock);
        pl->st.documents++;
        pthread_mutex_unlock(&pl->lock);

        pb_norm_opts_t nopts = {pl->cfg->envelope_source, NULL, pl->cfg->privacy, 0};
        if (!s->normalized && !s->parsed)
                nopts.tok = thread_tok();
        pb_ingest_t ing = {s->path, s->received_us};
        /* A page comes parsed, or checked and readable from its spans */
        pb_batch_t *b =
            s->normalized ? s->normalized
            : s->parsed || (s->checked && s->buf)
                ? pb_normalize_parsed(&nopts, s->parsed, s->buf, s->len, s->checked, &ing)
                : pb_normalize(&nopts, s->buf ? s->buf : "", s->len, &ing);
        char received[40];
        pb_time_format_us(s->received_us, received, sizeof(received));
        pb_provenance_t prov = {pb_ingest_name(s->path), received, s->origin};
        if (!b) {
                decide(pl, d, PB_OUTCOME_FAILED, "", NULL, "out of memory normalizing the document",
                       1);
        } else {
                for (size_t i = 0; i < b->cnt; i++)
                        if (b->items[i].env) {
                                snprintf(d->res.first_id, sizeof(d->res.first_id), "%s",
                                         b->items[i].env->id);
                                break;
                        }
                /* d stays valid across these calls: settle() never finishes a
                 * held document (the analyzer loses d->held across the
                 * on_item callback it cannot see into). */
                for (size_t i = 0; i < b->cnt; i++)
                        submit_item(pl, d, s, &b->items[i], // NOLINT(clang-analyzer-unix.Malloc)
                                    &prov);
                pb_batch_free(b);
        }
        pthread_mutex_lock(&pl->lock);
        d->held = 0; // NOLINT(clang-analyzer-unix.Malloc): held, see above
        int done = d->pending == 0;
        pthread_mutex_unlock(&pl->lock);
        if (done)
                finish(d);
}

/* --- life cycle --- */

pb_pipeline_t *pb_pipeline_new(const pb_config_t *cfg, pb_metrics_t *metrics,
                               const pb_pipeline_opts_t *opts, pb_fail_t *fail, char *errstr,
                               size_t errsz)
{
        if (sodium_init() < 0) {
                pb_setfail(fail, PB_FAIL_SYSTEM, errstr, errsz, "libsodium failed to initialize");
                return NULL;
        }
        pb_pipeline_t *pl = calloc(1, sizeof(*pl));
        if (!pl) {
                pb_setfail(fail, PB_FAIL_SYSTEM, errstr, errsz, "out of memory");
                return NULL;
        }
        pl->cfg = cfg;
        pl->metrics = metrics;
        pl->dry_run = opts ? opts->dry_run : NULL;
        pl->spans = opts ? opts->spans : NULL;
        pthread_mutex_init(&pl->lock, NULL);
        pthread_mutex_init(&pl->dry_lock, NULL);
        pb_cond_init(&pl->cond);
        int map_ok = pb_idmap_init(&pl->flights, offsetof(struct flight, id)) == 0;
        if (opts && opts->dedupe_entries)
                pl->window = pb_dedupe_new(opts->dedupe_entries, opts->dedupe_ttl_ms);
        const char *topics[PB_CONFIG_TOPICS];
        pb_config_topics(cfg, topics);
        for (int i = 0; i < PB_PIPELINE_TOPICS; i++)
                pl->st.topics[i].topic = topics[i];
        if (!map_ok || (opts && opts->dedupe_entries && !pl->window)) {
                pb_setfail(fail, PB_FAIL_SYSTEM, errstr, errsz, "out of memory");
                goto fail;
        }
        if (!pl->dry_run) {
                pb_producer_opts_t po = {opts ? opts->record_timeout_ms : 0, pb_publish_redirect,
                                         (void *)cfg};
                pl->prod = pb_producer_new_opts(cfg, &po, fail, errstr, errsz);
                if (!pl->prod)
                        goto fail;
                if (opts && opts->kafka_fail_fast_ms > 0)
                        pb_producer_set_fail_fast(pl->prod, opts->kafka_fail_fast_ms);
        }
        return pl;
fail:
        pb_dedupe_free(pl->window);
        pb_idmap_destroy(&pl->flights);
        pthread_mutex_destroy(&pl->lock);
        pthread_mutex_destroy(&pl->dry_lock);
        pthread_cond_destroy(&pl->cond);
        free(pl);
        return NULL;
}

size_t pb_pipeline_drain(pb_pipeline_t *pl, int timeout_ms)
{
        int64_t deadline = timeout_ms < 0 ? INT64_MAX : pb_mono_ms() + timeout_ms;
        pthread_mutex_lock(&pl->lock);
        while (pl->st.in_flight > 0) {
                int64_t left = deadline - pb_mono_ms();
                if (left <= 0)
                        break;
                pb_cond_timedwait_ms(&pl->cond, &pl->lock, left < 100 ? left : 100);
        }
        size_t n = (size_t)pl->st.in_flight;
        pthread_mutex_unlock(&pl->lock);
        return n;
}

int pb_pipeline_closing(pb_pipeline_t *pl)
{
        pthread_mutex_lock(&pl->lock);
        int c = pl->closing;
        pthread_mutex_unlock(&pl->lock);
        return c;
}

size_t pb_pipeline_close(pb_pipeline_t *pl, int grace_ms)
{
        pthread_mutex_lock(&pl->lock);
        int already = pl->closing;
        pl->closing = 1;
        pthread_mutex_unlock(&pl->lock);
        if (already)
                return 0;
        size_t left = pb_pipeline_drain(pl, grace_ms);
        if (left)
                pb_warn("%zu event(s) still in flight after %d ms; failing them", left, grace_ms);
        return pl->prod ? pb_producer_close(pl->prod) : 0;
}

void pb_pipeline_stats(pb_pipeline_t *pl, pb_pipeline_stats_t *out)
{
        pthread_mutex_lock(&pl->lock);
        *out = pl->st;
        pthread_mutex_unlock(&pl->lock);
}

size_t pb_pipeline_dedupe_size(pb_pipeline_t *pl)
{
        return pb_dedupe_size(pl->window);
}

pb_producer_t *pb_pipeline_producer(pb_pipeline_t *pl)
{
        return pl->prod;
}

void pb_pipeline_free(pb_pipeline_t *pl)
{
        if (!pl)
                return;
        pb_pipeline_close(pl, 0);
        uint64_t gone = atomic_load(&pl->failed_closing);
        if (gone > CLOSING_LINES)
                pb_warn("%llu event(s) more not published because the bridge was stopping (the "
                        "first %d are above); their sources give them again (Telnyx's retry, "
                        "the next poll, the next backfill or replay)",
                        (unsigned long long)(gone - CLOSING_LINES), CLOSING_LINES);
        pb_producer_free(pl->prod);
        if (pl->flights.size)
                pb_err("internal: %zu flight(s) left at pipeline free", pl->flights.size);
        pb_dedupe_free(pl->window);
        pb_idmap_destroy(&pl->flights);
        thread_tok_free(); /* main's: its key destructor never runs */
        pthread_mutex_destroy(&pl->lock);
        pthread_mutex_destroy(&pl->dry_lock);
        pthread_cond_destroy(&pl->cond);
        free(pl);
}

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "normalize.h"
#include "pb.h"
#include "pipeline.h"
#include "poll_scan.h"
#include "progress.h"
#include "telnyx_client.h"
#include "timefmt.h"

static const char fetch_usage[] =
    "Usage: portout-bridge [-c FILE] fetch EVENT_ID [--publish]\n"
    "\n"
    "Retrieves one port-out event (GET /v2/portouts/events/{id}) and prints its\n"
    "envelope. With --publish, also publishes it and waits for its delivery\n"
    "report.\n"
    "Exit 0 done; 65 not found or unusable; 69 API unavailable; 75 not\n"
    "delivered; 78 configuration or credentials wrong (401/403).\n";

static const char backfill_usage[] =
    "Usage: portout-bridge [-c FILE] backfill [--since TIME] [--until TIME]\n"
    "                      [--event-type TYPE] [--portout-id ID] [--dry-run] [--quiet]\n"
    "\n"
    "Pages through GET /v2/portouts/events (telnyx.page_size per page) with the\n"
    "filters, publishes every event, waits for every delivery report and prints\n"
    "a summary. TIME is RFC 3339; --until defaults to the start of the run, so\n"
    "the set is fixed. Events seen twice (pages shifting) are published once.\n"
    "--dry-run prints the envelopes instead of publishing. Progress goes to\n"
    "stderr (a live line on a terminal, else a log line every 5 s); --quiet\n"
    "turns it off.\n"
    "Exit 0 all delivered; 65 some dead-lettered; 69 API unavailable; 75 some\n"
    "not delivered; 78 configuration or credentials wrong.\n";

static const char republish_usage[] =
    "Usage: portout-bridge [-c FILE] republish EVENT_ID\n"
    "\n"
    "Asks Telnyx to re-send the event's webhook (POST\n"
    "/v2/portouts/events/{id}/republish; Telnyx answers 204). It re-sends only\n"
    "to the notification channels subscribed now, and creates no new event.\n"
    "Exit 0 accepted; 65 not found; 69 API unavailable; 78 credentials wrong.\n";

static int tx_exit(pb_tx_rc_t rc)
{
        switch (rc) {
        case PB_TX_OK: return PB_EXIT_OK;
        case PB_TX_NOT_FOUND:
        case PB_TX_REJECTED: return PB_EXIT_DATAERR;
        case PB_TX_AUTH: return PB_EXIT_CONFIG;
        case PB_TX_UNAVAILABLE:
        case PB_TX_LIMITED: return PB_EXIT_UNAVAILABLE;
        case PB_TX_ABORTED: return PB_EXIT_TEMPFAIL;
        }
        return PB_EXIT_SOFTWARE;
}

static const char *tx_what(pb_tx_rc_t rc)
{
        switch (rc) {
        case PB_TX_NOT_FOUND: return "not found";
        case PB_TX_AUTH: return "the API key was refused (check TELNYX_API_KEY)";
        case PB_TX_REJECTED: return "Telnyx rejected the request";
        case PB_TX_UNAVAILABLE: return "the Telnyx API is unavailable";
        case PB_TX_LIMITED: return "the Telnyx API's rate limit refused the request";
        case PB_TX_ABORTED: return "interrupted";
        case PB_TX_OK: break;
        }
        return "ok";
}

/* Most distinct events one backfill remembers (about 100 bytes each). */
#define BACKFILL_DEDUPE_MAX ((size_t)10 * 1000 * 1000)

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig)
{
        (void)sig;
        stop_flag = 1;
}

static void catch_signals(void)
{
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
}

/* Waits for one document's outcome. */
struct one {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int done;
        pb_outcome_t outcome;
        char where[600];
};

static void one_item(void *opaque, const pb_item_result_t *r)
{
        struct one *o = opaque;
        pthread_mutex_lock(&o->lock);
        o->outcome = r->outcome;
        if (r->outcome == PB_OUTCOME_FAILED)
                snprintf(o->where, sizeof(o->where), "%s", r->reason ? r->reason : "failed");
        else if (r->topic)
                snprintf(o->where, sizeof(o->where), "%s [%d] @ %lld", r->topic, (int)r->partition,
                         (long long)r->offset);
        pthread_mutex_unlock(&o->lock);
}

static void one_done(void *opaque, pb_doc_result_t *r)
{
        (void)r;
        struct one *o = opaque;
        pthread_mutex_lock(&o->lock);
        o->done = 1;
        pthread_cond_signal(&o->cond);
        pthread_mutex_unlock(&o->lock);
}

/* 1 if id may go into a Telnyx URL, else a usage error on stderr (the id
 * cut at 40 characters). */
static int id_ok(const char *prefix, const char *what, const char *id)
{
        if (pb_telnyx_id_valid(id))
                return 1;
        fprintf(stderr,
                "%s\"%.*s%s\" is not %s: 1 to %d of A-Z a-z 0-9 - _ (Telnyx ids are UUIDs)\n",
                prefix, 40, id, strlen(id) > 40 ? "..." : "", what, PB_TELNYX_ID_MAX);
        return 0;
}

/* Publishes the one event of b (taken) and waits for its delivery report;
 * returns the exit code. */
static int publish_one(const pb_config_t *cfg, pb_batch_t *b, int64_t received_us)
{
        pb_span_export_t *spans = NULL;
        if (pb_cmd_tracing(cfg, NULL, &spans)) {
                pb_batch_free(b);
                return PB_EXIT_CONFIG;
        }
        pb_pipeline_opts_t popts = {0, 0, NULL, PB_CMD_KAFKA_FAIL_FAST_MS, 0, spans};
        int rc = PB_EXIT_OK;
        pb_pipeline_t *pl = pb_cmd_pipeline(cfg, &popts, &rc);
        if (!pl) {
                pb_span_export_free(spans, 0);
                pb_batch_free(b);
                return rc;
        }
        struct one o;
        memset(&o, 0, sizeof(o));
        pthread_mutex_init(&o.lock, NULL);
        pthread_cond_init(&o.cond, NULL);
        pb_submission_t s;
        memset(&s, 0, sizeof(s));
        s.normalized = b; /* the envelope printed, not a second one */
        s.path = PB_INGEST_REST;
        s.received_us = received_us;
        s.wait_ms = -1;
        s.on_item = one_item;
        s.on_done = one_done;
        s.opaque = &o;
        pb_pipeline_submit(pl, &s);
        pthread_mutex_lock(&o.lock);
        while (!o.done)
                pthread_cond_wait(&o.cond, &o.lock);
        pthread_mutex_unlock(&o.lock);
        pthread_mutex_destroy(&o.lock);
        pthread_cond_destroy(&o.cond);
        if (o.outcome == PB_OUTCOME_FAILED) {
                fprintf(stderr, "fetch: not delivered: %s\n", o.where);
                pb_pipeline_close(pl, 0);
                rc = pb_cmd_kafka_refusal(pl, "fetch");
                if (!rc)
                        rc = PB_EXIT_TEMPFAIL;
        } else {
                fprintf(stderr, "fetch: %s %s\n",
                        o.outcome == PB_OUTCOME_DEAD_LETTERED ? "dead-lettered to" : "delivered to",
                        o.where);
        }
        pb_pipeline_free(pl);
        pb_span_export_free(spans, 2000);
        return rc;
}

int pb_cmd_fetch(const pb_globals_t *g, int argc, char **argv)
{
        if (pb_cmd_wants_help(argc, argv, fetch_usage))
                return PB_EXIT_OK;
        const char *id = NULL;
        int publish = 0;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--publish") == 0)
                        publish = 1;
                else if (argv[i][0] != '-' && !id)
                        id = argv[i];
                else {
                        fprintf(stderr, "fetch: unexpected argument %s\n%s", argv[i], fetch_usage);
                        return PB_EXIT_USAGE;
                }
        }
        if (!id) {
                fputs(fetch_usage, stderr);
                return PB_EXIT_USAGE;
        }
        if (!id_ok("fetch: ", "an event id", id))
                return PB_EXIT_USAGE;
        pb_config_t *cfg = pb_cmd_load_config(g);
        if (!cfg)
                return PB_EXIT_CONFIG;
        char err[PB_ERRSZ];
        int rc = PB_EXIT_OK;
        pb_batch_t *b = NULL;
        char *body = NULL;
        size_t len = 0;
        pb_telnyx_t *tx = pb_telnyx_new(cfg, err, sizeof(err));
        if (!tx) {
                fprintf(stderr, PB_NAME ": configuration error: %s\n", err);
                rc = PB_EXIT_CONFIG;
                goto out;
        }
        pb_tx_rc_t trc = pb_telnyx_get_event(tx, id, &body, &len, err, sizeof(err));
        if (trc != PB_TX_OK) {
                fprintf(stderr, "fetch: event %s: %s: %s\n", id, tx_what(trc), err);
                rc = tx_exit(trc);
                goto out;
        }
        int64_t now_us = pb_now_ms() * 1000;
        pb_norm_opts_t nopts = {cfg->envelope_source, NULL, cfg->privacy, 0};
        pb_ingest_t ing = {PB_INGEST_REST, now_us};
        b = pb_normalize(&nopts, body, len, &ing);
        if (!b || b->cnt != 1) {
                fprintf(stderr, "fetch: event %s: unexpected response shape\n", id);
                rc = PB_EXIT_DATAERR;
                goto out;
        }
        const pb_norm_item_t *it = &b->items[0];
        if (it->env && strcmp(it->env->id, id) != 0) {
                /* A proxy or a wrong api_base answered for another event. */
                fprintf(stderr, "fetch: asked for event %s, the API answered with event %.80s\n",
                        id, it->env->id);
                rc = PB_EXIT_DATAERR;
                goto out;
        }
        if (it->env) {
                fwrite(it->env->json, 1, it->env->json_len, stdout);
                fputc('\n', stdout);
                fflush(stdout);
        } else {
                fprintf(stderr, "fetch: event %s cannot be used: %s\n", id, it->error);
                rc = PB_EXIT_DATAERR;
        }
        if (publish) {
                int prc = publish_one(cfg, b, now_us);
                b = NULL;
                if (prc) /* else a dead-lettered event's 65 stands */
                        rc = prc;
        }
out:
        pb_batch_free(b);
        free(body);
        pb_telnyx_free(tx);
        pb_config_free(cfg);
        return rc;
}

struct backfill_view {
        pb_scan_progress_t *scan;
        pb_pipeline_t *pl;
};

static void backfill_progress(void *ctx, pb_progress_state_t *out)
{
        struct backfill_view *v = ctx;
        pb_pipeline_stats_t st;
        pb_pipeline_stats(v->pl, &st);
        out->unit = "pages";
        out->done = atomic_load(&v->scan->pages);
        out->total = atomic_load(&v->scan->total_pages);
        out->events = st.items;
        out->delivered = st.delivered;
}

/* Accepts an RFC 3339 time and gives it back in UTC. */
static int parse_time_arg(const char *opt, const char *v, char *out, size_t outsz)
{
        int64_t us;
        if (!v || pb_time_parse_rfc3339(v, &us)) {
                fprintf(stderr, "backfill: %s needs an RFC 3339 time, e.g. 2026-03-01T00:00:00Z\n",
                        opt);
                return -1;
        }
        pb_time_format_us(us, out, outsz);
        return 0;
}

int pb_cmd_backfill(const pb_globals_t *g, int argc, char **argv)
{
        if (pb_cmd_wants_help(argc, argv, backfill_usage))
                return PB_EXIT_OK;
        char since[40] = "", until[40] = "";
        pb_scan_opts_t o;
        memset(&o, 0, sizeof(o));
        int dry_run = 0, quiet = 0;
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (!a)
                        break;
                if (strcmp(a, "--since") == 0) {
                        if (parse_time_arg(a, v, since, sizeof(since)))
                                return PB_EXIT_USAGE;
                        i++;
                } else if (strcmp(a, "--until") == 0) {
                        if (parse_time_arg(a, v, until, sizeof(until)))
                                return PB_EXIT_USAGE;
                        i++;
                } else if (strcmp(a, "--event-type") == 0 && v) {
                        o.filter.event_type = v;
                        i++;
                } else if (strcmp(a, "--portout-id") == 0 && v) {
                        if (!id_ok("backfill: --portout-id ", "a port-out id", v))
                                return PB_EXIT_USAGE;
                        o.filter.portout_id = v;
                        i++;
                } else if (strcmp(a, "--dry-run") == 0) {
                        dry_run = 1;
                } else if (strcmp(a, "--quiet") == 0) {
                        quiet = 1;
                } else {
                        fprintf(stderr, "backfill: unexpected argument %s\n%s", a, backfill_usage);
                        return PB_EXIT_USAGE;
                }
        }
        if (!*until) /* a fixed end keeps the set still while it is paged */
                pb_time_format_us(pb_now_ms() * 1000, until, sizeof(until));
        o.filter.created_gte = *since ? since : NULL;
        o.filter.created_lte = until;
        o.stop = &stop_flag;

        pb_config_t *cfg = pb_cmd_load_config(g);
        if (!cfg)
                return PB_EXIT_CONFIG;
        char err[PB_ERRSZ];
        int rc;
        pb_telnyx_t *tx = pb_telnyx_new(cfg, err, sizeof(err));
        if (!tx) {
                fprintf(stderr, PB_NAME ": configuration error: %s\n", err);
                pb_config_free(cfg);
                return PB_EXIT_CONFIG;
        }
        catch_signals();
        pb_telnyx_set_abort_flag(tx, &stop_flag);
        /* Each event once per backfill, whatever the passes: a window as
         * large as the backfill (bounded), never expiring during it. */
        pb_span_export_t *spans = NULL;
        if (!dry_run && pb_cmd_tracing(cfg, NULL, &spans)) {
                pb_telnyx_free(tx);
                pb_config_free(cfg);
                return PB_EXIT_CONFIG;
        }
        pb_pipeline_opts_t popts = {BACKFILL_DEDUPE_MAX,
                                    INT64_MAX / 4,
                                    dry_run ? stdout : NULL,
                                    PB_CMD_KAFKA_FAIL_FAST_MS,
                                    0,
                                    spans};
        int prc = PB_EXIT_OK;
        pb_pipeline_t *pl = pb_cmd_pipeline(cfg, &popts, &prc);
        if (!pl) {
                pb_span_export_free(spans, 0);
                pb_telnyx_free(tx);
                pb_config_free(cfg);
                return prc;
        }
        pb_scan_progress_t sp;
        atomic_init(&sp.pages, 0);
        atomic_init(&sp.total_pages, 0);
        o.progress = &sp;
        struct backfill_view view = {&sp, pl};
        pb_progress_t *prog = pb_progress_start("backfill", quiet, backfill_progress, &view);
        pb_scan_result_t r;
        pb_tx_rc_t trc = pb_rest_scan(tx, pl, cfg, &o, &r, err, sizeof(err));
        pb_pipeline_close(pl, (int)cfg->kafka_flush_timeout_ms);
        pb_progress_stop(prog);
        size_t published = r.delivered + r.dead_lettered + r.failed;
        fprintf(dry_run ? stderr : stdout,
                "backfill: %zu page(s) in %zu pass(es), %llu HTTP request(s); %zu event(s) read, "
                "%zu published, %zu repeat(s) skipped, %zu rejected; %zu delivered, %zu "
                "dead-lettered, %zu failed%s\n",
                r.pages, r.passes, (unsigned long long)pb_telnyx_request_count(tx), r.events,
                published, r.duplicates, r.rejected, r.delivered, r.dead_lettered, r.failed,
                dry_run ? " (dry run: nothing published)" : "");
        if (trc != PB_TX_OK) {
                fprintf(stderr, "backfill: %s: %s\n", tx_what(trc), err);
                rc = tx_exit(trc);
        } else if (r.failed) {
                rc = pb_cmd_kafka_refusal(pl, "backfill");
                if (!rc)
                        rc = PB_EXIT_TEMPFAIL;
        } else if (r.dead_lettered || r.rejected) {
                rc = PB_EXIT_DATAERR;
        } else {
                rc = PB_EXIT_OK;
        }
        pb_pipeline_free(pl);
        pb_span_export_free(spans, 2000);
        pb_telnyx_free(tx);
        pb_config_free(cfg);
        return rc;
}

int pb_cmd_republish(const pb_globals_t *g, int argc, char **argv)
{
        if (pb_cmd_wants_help(argc, argv, republish_usage))
                return PB_EXIT_OK;
        if (argc != 2 || argv[1][0] == '-') {
                fputs(republish_usage, stderr);
                return PB_EXIT_USAGE;
        }
        if (!id_ok("republish: ", "an event id", argv[1]))
                return PB_EXIT_USAGE;
        pb_config_t *cfg = pb_cmd_load_config(g);
        if (!cfg)
                return PB_EXIT_CONFIG;
        char err[PB_ERRSZ];
        pb_telnyx_t *tx = pb_telnyx_new(cfg, err, sizeof(err));
        int rc;
        if (!tx) {
                fprintf(stderr, PB_NAME ": configuration error: %s\n", err);
                rc = PB_EXIT_CONFIG;
        } else {
                pb_tx_rc_t trc = pb_telnyx_republish(tx, argv[1], err, sizeof(err));
                if (trc == PB_TX_OK)
                        printf("republish requested for %s\n", argv[1]);
                else
                        fprintf(stderr, "republish: event %s: %s: %s\n", argv[1], tx_what(trc),
                                err);
                rc = tx_exit(trc);
        }
        pb_telnyx_free(tx);
        pb_config_free(cfg);
        return rc;
}

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "file_readahead.h"
#include "log.h"
#include "normalize.h"
#include "pb.h"
#include "pipeline.h"
#include "progress.h"

static const char usage[] =
    "Usage: portout-bridge [-c FILE] replay [--quiet] [FILE...|-]\n"
    "\n"
    "Publishes every event of the files (one JSON document per line; list\n"
    "responses expand to one event per element) to Kafka, waits for every\n"
    "delivery report and prints a summary. Input that cannot be normalized is\n"
    "sent to the dead-letter topic with the reason. Progress goes to stderr (a\n"
    "live line on a terminal, else a log line every 5 s); --quiet turns it off.\n"
    "\n"
    "Exit 0 if every event was delivered to its topic; 65 if all is durable\n"
    "but some input was dead-lettered; 75 if some event was not delivered\n"
    "(interrupted, Kafka timeout); 69 if no broker could be reached at all.\n";

struct replay_ctx {
        pb_pipeline_t *pl;
        size_t not_sent;       /* lines that could not be read */
        _Atomic int64_t bytes; /* of the input handed over, for progress */
        int64_t total_bytes;   /* of the files, 0 if unknown (stdin) */
};

static void replay_progress(void *ctx, pb_progress_state_t *out)
{
        struct replay_ctx *c = ctx;
        pb_pipeline_stats_t st;
        pb_pipeline_stats(c->pl, &st);
        out->unit = "bytes";
        out->done = atomic_load(&c->bytes);
        out->total = c->total_bytes;
        out->events = st.items;
        out->delivered = st.delivered;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
        (void)sig;
        interrupted = 1;
}

/* Counting and logging the fates (with file:line) are the pipeline's. */
static void on_done(void *opaque, pb_doc_result_t *r)
{
        (void)opaque;
        (void)r;
}

/* Submits one read-ahead document (its batch passes to the pipeline). */
static void submit_doc(struct replay_ctx *c, pb_ahead_doc_t *d)
{
        atomic_fetch_add(&c->bytes, (int64_t)d->len + 1);
        if (!d->batch) {
                /* Unreadable line (over the size bound) or file: not sent. */
                pb_err("%s: %s", d->where, d->error);
                c->not_sent++;
                return;
        }
        pb_submission_t s;
        memset(&s, 0, sizeof(s));
        s.normalized = d->batch;
        s.path = PB_INGEST_FILE;
        s.received_us = d->received_us;
        s.origin = d->where;
        s.wait_ms = -1; /* a full queue makes the reader wait: backpressure */
        s.on_done = on_done;
        pb_pipeline_submit(c->pl, &s);
}

int pb_cmd_replay(const pb_globals_t *g, int argc, char **argv)
{
        if (pb_cmd_wants_help(argc, argv, usage))
                return PB_EXIT_OK;
        int first = 1, quiet = 0;
        if (first < argc && strcmp(argv[first], "--quiet") == 0) {
                quiet = 1;
                first++;
        }
        pb_config_t *cfg = pb_cmd_load_config(g);
        if (!cfg)
                return PB_EXIT_CONFIG;
        char err[PB_ERRSZ];
        /* A replay publishes what it is given, repeats included: no dedupe. */
        pb_span_export_t *spans = NULL;
        if (pb_cmd_tracing(cfg, NULL, &spans)) {
                pb_config_free(cfg);
                return PB_EXIT_CONFIG;
        }
        pb_pipeline_opts_t popts = {0, 0, NULL, PB_CMD_KAFKA_FAIL_FAST_MS, 0, spans};
        int rc = PB_EXIT_OK;
        pb_pipeline_t *pl = pb_cmd_pipeline(cfg, &popts, &rc);
        if (!pl) {
                pb_span_export_free(spans, 0);
                pb_config_free(cfg);
                return rc;
        }
        struct replay_ctx c;
        memset(&c, 0, sizeof(c));
        c.pl = pl;
        atomic_init(&c.bytes, 0);
        for (int i = first; i < argc; i++) {
                struct stat sb;
                if (strcmp(argv[i], "-") == 0 || stat(argv[i], &sb) != 0 || !S_ISREG(sb.st_mode)) {
                        c.total_bytes = 0;
                        break;
                }
                c.total_bytes += (int64_t)sb.st_size;
        }
        if (first >= argc)
                c.total_bytes = 0;

        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);

        pb_progress_t *prog = pb_progress_start("replay", quiet, replay_progress, &c);
        /* Documents are read and normalized a little ahead, on a thread of
         * their own, while this one produces them in file order. */
        pb_readahead_t *ra =
            pb_readahead_start(argv + first, argc - first, (size_t)cfg->input_max_event_bytes,
                               cfg->envelope_source, cfg->privacy, err, sizeof(err));
        if (!ra) {
                pb_err("replay: %s", err);
                interrupted = 1;
        }
        pb_ahead_doc_t doc;
        int got;
        while (ra && !interrupted && (got = pb_readahead_next(ra, &doc, 200)) != 0) {
                if (got > 0)
                        submit_doc(&c, &doc);
                pb_producer_stats_t now;
                pb_producer_stats(pb_pipeline_producer(pl), &now);
                if (now.refused)
                        break; /* Kafka refused the bridge: the rest would fail too */
        }
        pb_readahead_free(ra);

        /* Wait for every delivery report; on a signal, give the grace period. */
        size_t left;
        while ((left = pb_pipeline_drain(pl, 200)) > 0 && !interrupted)
                ;
        if (left > 0)
                pb_warn("interrupted with %zu event(s) in flight; waiting up to %lld ms", left,
                        (long long)cfg->kafka_flush_timeout_ms);
        pb_pipeline_close(pl, (int)cfg->kafka_flush_timeout_ms);
        pb_progress_stop(prog);
        pb_producer_stats_t st;
        pb_producer_stats(pb_pipeline_producer(pl), &st);
        pb_pipeline_stats_t ps;
        pb_pipeline_stats(pl, &ps);

        printf("replay: %llu event(s) read, %llu published, %llu dead-lettered, %llu failed, "
               "%zu unreadable\n",
               (unsigned long long)ps.items, (unsigned long long)ps.delivered,
               (unsigned long long)ps.dead_lettered, (unsigned long long)ps.failed, c.not_sent);
        for (int i = 0; i < PB_PIPELINE_TOPICS; i++)
                if (ps.topics[i].n)
                        printf("  %-48s %llu\n", ps.topics[i].topic,
                               (unsigned long long)ps.topics[i].n);
        fflush(stdout);
        int refusal = pb_cmd_kafka_refusal(pl, "replay");
        pb_pipeline_free(pl);
        pb_span_export_free(spans, 2000); /* after the pipeline: its last spans */
        pb_config_free(cfg);

        if (refusal)
                return refusal;
        if (ps.failed || interrupted) {
                if (!interrupted && !st.brokers_up && st.delivered == 0)
                        return PB_EXIT_UNAVAILABLE;
                return PB_EXIT_TEMPFAIL;
        }
        if (ps.dead_lettered || c.not_sent)
                return PB_EXIT_DATAERR;
        return PB_EXIT_OK;
}

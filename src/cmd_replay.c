#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ingest_file.h"
#include "log.h"
#include "normalize.h"
#include "pb.h"
#include "producer.h"
#include "publish.h"
#include "timefmt.h"

static const char usage[] =
    "Usage: portout-bridge [-c FILE] replay [FILE...|-]\n"
    "\n"
    "Publishes every event of the files (one JSON document per line; list\n"
    "responses expand to one event per element) to Kafka, waits for every\n"
    "delivery report and prints a summary. Input that cannot be normalized is\n"
    "sent to the dead-letter topic with the reason.\n"
    "\n"
    "Exit 0 if every event was delivered to its topic; 65 if all is durable\n"
    "but some input was dead-lettered; 75 if some event was not delivered\n"
    "(interrupted, Kafka timeout); 69 if no broker could be reached at all.\n";

#define MAX_TOPICS 16

struct replay_ctx {
        const pb_config_t *cfg;
        pb_producer_t *prod;
        pthread_mutex_t lock;
        size_t read, rejected_lines, published, dead_lettered, failed, not_sent;
        struct {
                const char *topic;
                size_t n;
        } per_topic[MAX_TOPICS];
};

/* One per record: what it was, to count its fate. */
struct replay_item {
        struct replay_ctx *c;
        int rejected; /* a normalizer rejection, bound for the DLQ */
        char where[128];
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
        (void)sig;
        interrupted = 1;
}

static void count_topic(struct replay_ctx *c, const char *topic)
{
        for (int i = 0; i < MAX_TOPICS; i++) {
                if (!c->per_topic[i].topic) {
                        c->per_topic[i].topic = topic;
                        c->per_topic[i].n = 1;
                        return;
                }
                if (strcmp(c->per_topic[i].topic, topic) == 0) {
                        c->per_topic[i].n++;
                        return;
                }
        }
}

static const char *stable_topic(const struct replay_ctx *c, const char *t)
{
        /* Topic names in delivery reports are borrowed for the callback only;
         * map them onto the config's strings, which outlive the run. */
        const char *known[] = {c->cfg->topic_status_changed, c->cfg->topic_foc_date_changed,
                               c->cfg->topic_new_comment, c->cfg->topic_other,
                               c->cfg->topic_dead_letter};
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                if (strcmp(known[i], t) == 0)
                        return known[i];
        return "(other)";
}

static void on_done(void *opaque, const pb_delivery_t *d)
{
        struct replay_item *ri = opaque;
        struct replay_ctx *c = ri->c;
        pthread_mutex_lock(&c->lock);
        if (d->fate == PB_FATE_FAILED) {
                c->failed++;
                pb_err("%s: not delivered: %s", ri->where, d->reason);
        } else if (d->fate == PB_FATE_DEAD_LETTERED || ri->rejected) {
                c->dead_lettered++;
                count_topic(c, stable_topic(c, d->topic));
        } else {
                c->published++;
                count_topic(c, stable_topic(c, d->topic));
        }
        pthread_mutex_unlock(&c->lock);
        free(ri);
}

static int on_doc(void *arg, const char *where, const char *doc, size_t len, const char *error)
{
        struct replay_ctx *c = arg;
        if (interrupted)
                return 1;
        if (!doc) {
                /* Unreadable line (over the size bound) or file: not sent. */
                pb_err("%s: %s", where, error);
                c->not_sent++;
                return 0;
        }
        int64_t now_us = pb_now_ms() * 1000;
        pb_norm_opts_t opts = {c->cfg->envelope_source};
        pb_ingest_t ing = {PB_INGEST_FILE, now_us};
        pb_batch_t *b = pb_normalize(&opts, doc, len, &ing);
        if (!b) {
                pb_err("%s: out of memory", where);
                c->not_sent++;
                return 1;
        }
        char received[40];
        pb_time_format_us(now_us, received, sizeof(received));
        for (size_t i = 0; i < b->cnt; i++) {
                const pb_norm_item_t *it = &b->items[i];
                struct replay_item *ri = calloc(1, sizeof(*ri));
                if (!ri) {
                        c->not_sent++;
                        continue;
                }
                ri->c = c;
                ri->rejected = it->env == NULL;
                snprintf(ri->where, sizeof(ri->where), "%s", where);
                c->read++;
                if (ri->rejected) {
                        c->rejected_lines++;
                        pb_warn("%s: rejected, sending to %s: %s", where, c->cfg->topic_dead_letter,
                                it->error);
                }
                pb_origin_t origin = {"file", received, where};
                char err[PB_ERRSZ];
                if (pb_publish_item(c->prod, c->cfg, it, &origin, on_done, ri, -1, err,
                                    sizeof(err))) {
                        pb_err("%s: %s", where, err);
                        pthread_mutex_lock(&c->lock);
                        c->not_sent++;
                        pthread_mutex_unlock(&c->lock);
                        free(ri);
                }
        }
        pb_batch_free(b);
        return 0;
}

int pb_cmd_replay(const pb_globals_t *g, int argc, char **argv)
{
        if (pb_cmd_wants_help(argc, argv, usage))
                return PB_EXIT_OK;
        pb_config_t *cfg = pb_cmd_load_config(g);
        if (!cfg)
                return PB_EXIT_CONFIG;
        char err[PB_ERRSZ];
        pb_producer_t *prod = pb_producer_new(cfg, err, sizeof(err));
        if (!prod) {
                fprintf(stderr, PB_NAME ": %s\n", err);
                pb_config_free(cfg);
                return PB_EXIT_CONFIG;
        }
        struct replay_ctx c;
        memset(&c, 0, sizeof(c));
        c.cfg = cfg;
        c.prod = prod;
        pthread_mutex_init(&c.lock, NULL);

        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);

        pb_ingest_files(argv + 1, argc - 1, (size_t)cfg->input_max_event_bytes, on_doc, &c);

        /* Wait for every delivery report; on a signal, give the grace period. */
        size_t left;
        while ((left = pb_producer_flush(prod, 200)) > 0 && !interrupted)
                ;
        if (left > 0) {
                pb_warn("interrupted with %zu record(s) in flight; waiting up to %lld ms", left,
                        (long long)cfg->kafka_flush_timeout_ms);
                left = pb_producer_flush(prod, (int)cfg->kafka_flush_timeout_ms);
                if (left > 0)
                        pb_err("%zu record(s) still undelivered after the grace period", left);
        }
        pb_producer_stats_t st;
        pb_producer_stats(prod, &st);
        pb_producer_free(prod); /* anything left is counted as failed here */

        printf("replay: %zu event(s) read, %zu published, %zu dead-lettered, %zu failed, %zu "
               "unreadable\n",
               c.read, c.published, c.dead_lettered, c.failed, c.not_sent);
        for (int i = 0; i < MAX_TOPICS && c.per_topic[i].topic; i++)
                printf("  %-48s %zu\n", c.per_topic[i].topic, c.per_topic[i].n);
        fflush(stdout);
        pthread_mutex_destroy(&c.lock);
        pb_config_free(cfg);

        if (c.failed || interrupted) {
                if (!interrupted && !st.brokers_up && st.delivered == 0)
                        return PB_EXIT_UNAVAILABLE;
                return PB_EXIT_TEMPFAIL;
        }
        if (c.dead_lettered || c.not_sent)
                return PB_EXIT_DATAERR;
        return PB_EXIT_OK;
}

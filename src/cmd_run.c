#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cmd.h"
#include "desk.h"
#include "http_admin.h"
#include "http_tls.h"
#include "http_verify.h"
#include "http_webhook.h"
#include "kafka_index.h"
#include "log.h"
#include "metrics.h"
#include "pb.h"
#include "pipeline.h"
#include "poll_loop.h"
#include "sdnotify.h"
#include "span_export.h"
#include "state_writer.h"
#include "timefmt.h"

/* systemd's watchdog, honestly: it is pinged only while the producer's poll
 * thread (every delivery report goes through it) keeps turning. A stuck
 * bridge stops pinging and systemd restarts it. */
struct watchdog {
        pb_pipeline_t *pl;
        int64_t interval_ms;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int stop;
};

static void *watchdog_main(void *arg)
{
        struct watchdog *w = arg;
        uint64_t last = 0;
        pthread_mutex_lock(&w->lock);
        while (!w->stop) {
                pb_cond_timedwait_ms(&w->cond, &w->lock, w->interval_ms);
                if (w->stop)
                        break;
                pb_producer_stats_t st;
                pb_producer_stats(pb_pipeline_producer(w->pl), &st);
                if (st.loops != last)
                        pb_sd_notify("WATCHDOG=1");
                else
                        pb_warn("watchdog: the producer thread has not moved for %lld ms; not "
                                "telling systemd we are alive",
                                (long long)w->interval_ms);
                last = st.loops;
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

static struct watchdog *watchdog_start(pb_pipeline_t *pl)
{
        int64_t us = pb_sd_watchdog_usec();
        if (!us)
                return NULL;
        struct watchdog *w = calloc(1, sizeof(*w));
        if (!w)
                return NULL;
        w->pl = pl;
        w->interval_ms = us / 1000 / 2 > 0 ? us / 1000 / 2 : 1; /* twice per interval */
        pthread_mutex_init(&w->lock, NULL);
        pb_cond_init(&w->cond);
        if (pthread_create(&w->thread, NULL, watchdog_main, w)) {
                free(w);
                return NULL;
        }
        return w;
}

static void watchdog_stop(struct watchdog *w)
{
        if (!w)
                return;
        pthread_mutex_lock(&w->lock);
        w->stop = 1;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
}

static const char usage[] =
    "Usage: portout-bridge [-c FILE] run\n"
    "\n"
    "Runs the bridge: a listener receives Telnyx port-out webhooks\n"
    "(webhook.paths), checks their Ed25519 signatures, publishes each event to\n"
    "Kafka and answers 200 only once Kafka has acknowledged it (503 with\n"
    "Retry-After otherwise). With telnyx.poll_enabled it also polls\n"
    "GET /v2/portouts/events and keeps a checkpoint (telnyx.checkpoint_file)\n"
    "that only moves past delivered events. GET /healthz, /readyz and /metrics\n"
    "are served on the admin listener (admin.address, admin.port).\n"
    "\n"
    "SIGTERM or SIGINT: stop accepting (new requests get 503), give in-flight\n"
    "events up to kafka.flush_timeout_ms to reach Kafka, then stop. SIGHUP (or\n"
    "`portout-bridge reload`): read webhook.tls_cert_file and tls_key_file again;\n"
    "new handshakes use the new pair, open connections keep theirs.\n"
    "\n"
    "Exit 0 after a clean stop; 75 if some event was still undelivered when it\n"
    "stopped (its webhook was answered 503: Telnyx re-sends it; a polled one is\n"
    "read again from the checkpoint); 78 on a configuration error (e.g. no\n"
    "public key while signatures are checked); 69 if a listener cannot bind or\n"
    "the checkpoint is in use by another instance.\n";

static void warn_log(void *ctx, const char *text)
{
        (void)ctx;
        pb_warn("%s", text);
}

/* Raises the soft limit on open files to the hard one (as Go's runtime and
 * HAProxy do): every connection the listeners may hold is a descriptor, and
 * a systemd default of 1024 would refuse them long before the listeners'
 * own limits. Warns if even the hard limit is below what they may hold. */
static void raise_nofile(const pb_config_t *cfg)
{
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
                return;
        if (rl.rlim_cur < rl.rlim_max) {
                rlim_t want = rl.rlim_max == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_max;
                struct rlimit up = {want, rl.rlim_max};
                if (setrlimit(RLIMIT_NOFILE, &up) == 0)
                        rl.rlim_cur = want;
        }
        /* The listeners, plus Kafka's sockets, the poller and the logs. */
        uint64_t need = 256 + (cfg->admin_enabled ? PB_ADMIN_MAX_CONNECTIONS : 0) +
                        (cfg->webhook_enabled ? (uint64_t)cfg->webhook_max_connections : 0);
        if (rl.rlim_cur != RLIM_INFINITY && (uint64_t)rl.rlim_cur < need)
                pb_warn("the open-file limit is %llu, below the %llu descriptors the listeners "
                        "may hold (admin %d, webhook.max_connections %lld): connections past it "
                        "are refused; raise it (LimitNOFILE=, ulimit -n)",
                        (unsigned long long)rl.rlim_cur, (unsigned long long)need,
                        cfg->admin_enabled ? PB_ADMIN_MAX_CONNECTIONS : 0,
                        (long long)cfg->webhook_max_connections);
}

/* What `run` starts, in start order; freed in reverse. */
struct run {
        pb_config_t *cfg;
        pb_verifier_t *verifier;
        pb_metrics_t *metrics;
        pb_pipeline_t *pl;
        pb_admin_t *admin;
        pb_webhook_t *web;
        pb_index_t *index;
        pb_poller_t *poller;
        pb_state_t *state;
        pb_desk_t *desk;
        pb_span_export_t *spans;
        pb_tls_t *tls; /* webhook TLS, NULL: plain HTTP */
};

/* Prints why a part did not start; returns its exit code. */
static int start_failed(int code, const char *what, const char *err)
{
        fprintf(stderr, PB_NAME ": %s%s%s\n", what, *what ? ": " : "", err);
        return code;
}

/* The certificate's expiry, as a metric (the alert's input). */
static void tls_gauge(struct run *r)
{
        pb_tls_info_t ti;
        pb_tls_info(r->tls, &ti);
        pb_metrics_set(r->metrics, "portout_bridge_tls_certificate_expiry_timestamp_seconds", NULL,
                       ti.not_after);
}

/* Reads the webhook's certificate and key again (SIGHUP, POST /-/reload):
 * new handshakes get the new pair; on failure the old one stays. */
static int reload(void *ctx, char *msg, size_t msgsz)
{
        struct run *r = ctx;
        if (!r->tls) {
                snprintf(msg, msgsz, "nothing to reload: the webhook listener has no TLS");
                pb_info("reload: %s", msg);
                return 0;
        }
        char err[PB_ERRSZ];
        if (pb_tls_reload(r->tls, err, sizeof(err))) {
                pb_metrics_add(r->metrics, "portout_bridge_tls_reloads_total", "outcome=\"failed\"",
                               1);
                snprintf(msg, msgsz, "the old certificate stays: %s", err);
                pb_warn("reload: %s", msg);
                return 1;
        }
        pb_metrics_add(r->metrics, "portout_bridge_tls_reloads_total", "outcome=\"ok\"", 1);
        tls_gauge(r);
        pb_tls_info_t ti;
        pb_tls_info(r->tls, &ti);
        char exp[40];
        pb_time_format_us(ti.not_after * 1000000, exp, sizeof(exp));
        snprintf(msg, msgsz, "webhook certificate %s (serial %s), expires %s", ti.subject,
                 ti.serial, exp);
        pb_info("reload: %s", msg);
        return 0;
}

/* Starts every part. Returns PB_EXIT_OK, or the exit code of the first part
 * that could not start (said on stderr). */
static int run_start(struct run *r)
{
        const pb_config_t *cfg = r->cfg;
        char err[PB_ERRSZ];
        pb_fail_t fail = PB_FAIL_CONFIG;
        /* The same checks check-config makes, so it passes what run accepts. */
        if (pb_cmd_preflight(cfg, warn_log, NULL, err, sizeof(err)))
                return start_failed(PB_EXIT_CONFIG, "configuration error", err);
        if (cfg->webhook_enabled && cfg->webhook_verify_signatures) {
                r->verifier = pb_verifier_new(cfg->webhook_public_key,
                                              cfg->webhook_signature_tolerance_s, err, sizeof(err));
                if (!r->verifier)
                        return start_failed(PB_EXIT_CONFIG,
                                            "configuration error: webhook public key", err);
        } else if (cfg->webhook_enabled) {
                pb_warn("webhook.verify_signatures is false: ANY client that reaches the "
                        "listener can publish events; never run this way in production");
        }
        raise_nofile(cfg);
        r->metrics = pb_metrics_new();
        if (!r->metrics)
                return start_failed(PB_EXIT_OSERR, "", "out of memory");
        /* The daemon never gives up on Kafka: it is not ready, and says why.
         * With webhooks on, every record has a deadline within the answer's
         * (pb_webhook_record_timeout_ms()): a 503 is never followed by the
         * same attempt landing behind the answer's back. A poll's records
         * share it; a poll that fails reads the same events again. */
        pb_pipeline_opts_t popts = {(size_t)cfg->dedupe_entries,
                                    cfg->dedupe_ttl_s * 1000,
                                    NULL,
                                    0,
                                    cfg->webhook_enabled ? pb_webhook_record_timeout_ms(cfg) : 0,
                                    NULL};
        if (cfg->webhook_enabled && cfg->webhook_ack_timeout_ms < PB_RDKAFKA_TIMEOUT_SCAN_MS + 200)
                pb_warn("webhook.ack_timeout_ms = %lld leaves no room for librdkafka's timeout "
                        "scan (%d ms): some 503 answers will come before their record's fate, "
                        "and a late copy then relies on the dedupe of the retry",
                        (long long)cfg->webhook_ack_timeout_ms, PB_RDKAFKA_TIMEOUT_SCAN_MS);
        if (pb_cmd_tracing(cfg, r->metrics, &r->spans))
                return PB_EXIT_CONFIG;
        popts.spans = r->spans;
        r->pl = pb_pipeline_new(cfg, r->metrics, &popts, &fail, err, sizeof(err));
        if (!r->pl)
                return start_failed(pb_fail_exit(fail), "", err);
        /* The listeners bind first: a second instance fails here, before it
         * touches Kafka or the checkpoint. */
        if (cfg->admin_enabled) {
                r->admin = pb_admin_new(cfg, r->pl, r->metrics, err, sizeof(err));
                if (!r->admin)
                        return start_failed(PB_EXIT_UNAVAILABLE, "", err);
        }
        if (cfg->webhook_enabled && cfg->webhook_tls_cert_file && *cfg->webhook_tls_cert_file) {
                r->tls = pb_tls_new(cfg->webhook_tls_cert_file, cfg->webhook_tls_key_file, err,
                                    sizeof(err));
                if (!r->tls)
                        return start_failed(PB_EXIT_CONFIG, "configuration error: webhook TLS",
                                            err);
                pb_metrics_add(r->metrics, "portout_bridge_tls_reloads_total", "outcome=\"ok\"", 0);
                pb_metrics_add(r->metrics, "portout_bridge_tls_reloads_total", "outcome=\"failed\"",
                               0);
                tls_gauge(r);
        }
        if (r->admin)
                pb_admin_set_reload(r->admin, reload, r);
        if (cfg->webhook_enabled) {
                r->web = pb_webhook_new(cfg, r->pl, r->metrics, r->verifier, err, sizeof(err));
                if (!r->web)
                        return start_failed(PB_EXIT_UNAVAILABLE, "", err);
        }
        if (r->web && cfg->dedupe_from_kafka && cfg->dedupe_entries > 0) {
                /* Loads in its own thread; webhooks get 503 until it has. */
                r->index = pb_index_new(cfg, r->metrics, err, sizeof(err));
                if (!r->index)
                        return start_failed(PB_EXIT_CONFIG, "index", err);
                pb_webhook_set_index(r->web, r->index);
                pb_admin_set_index(r->admin, r->index, cfg->dedupe_max_view_age_ms);
        }
        if (cfg->telnyx_poll_enabled) {
                r->poller = pb_poller_new(cfg, r->pl, r->metrics, &fail, err, sizeof(err));
                if (!r->poller)
                        return start_failed(pb_fail_exit(fail), "polling", err);
        }
        if (cfg->state_enabled) {
                /* The writer is the poll leader, or the single instance. */
                r->state = pb_state_new(cfg, r->metrics, r->poller ? pb_poller_leader_term : NULL,
                                        r->poller ? pb_poller_fence : NULL, r->poller, &fail, err,
                                        sizeof(err));
                if (!r->state)
                        return start_failed(pb_fail_exit(fail), "state", err);
        }
        if (cfg->desk_enabled) {
                /* The same replica as the state writer. */
                if (!r->poller || cfg->telnyx_checkpoint_store != PB_CHECKPOINT_KAFKA)
                        pb_warn("desk.enabled without an elected leader (telnyx.poll_enabled and "
                                "checkpoint_store = \"kafka\"): this replica carries out every "
                                "command; never run two of them on one commands topic");
                r->desk = pb_desk_new(cfg, r->metrics, r->poller ? pb_poller_leader_term : NULL,
                                      r->poller ? pb_poller_fence : NULL, r->poller, &fail, err,
                                      sizeof(err));
                if (!r->desk)
                        return start_failed(pb_fail_exit(fail), "desk", err);
        }
        return PB_EXIT_OK;
}

/* Looks up the topics' leaders, then says what runs where. */
static void run_announce(const struct run *r)
{
        const pb_config_t *cfg = r->cfg;
        const char *topics[PB_CONFIG_TOPICS];
        int found = pb_producer_warmup(pb_pipeline_producer(r->pl), pb_config_topics(cfg, topics),
                                       PB_CONFIG_TOPICS, 10000);
        pb_info("kafka: metadata for %d of %d topics", found, PB_CONFIG_TOPICS);
        if (r->admin)
                pb_info("admin listening on %s:%u (/healthz, /readyz, /metrics)",
                        cfg->admin_address, pb_admin_port(r->admin));
        if (r->web)
                pb_info("listening on %s:%u, webhook paths %s, %d public key(s), signatures %s; "
                        "kafka %s",
                        cfg->webhook_address, pb_webhook_port(r->web), cfg->webhook_paths,
                        r->verifier ? pb_verifier_key_count(r->verifier) : 0,
                        r->verifier ? "checked" : "NOT CHECKED", cfg->kafka_brokers);
        if (r->web && r->tls) {
                pb_tls_info_t ti;
                pb_tls_info(r->tls, &ti);
                char exp[40];
                pb_time_format_us(ti.not_after * 1000000, exp, sizeof(exp));
                pb_info("webhook TLS (1.2, 1.3): %s, SANs %s, serial %s, expires %s", ti.subject,
                        ti.sans[0] ? ti.sans : "none", ti.serial, exp);
        } else if (r->web) {
                pb_info("webhook listener speaks plain HTTP: put it behind a TLS-terminating proxy "
                        "(or set webhook.tls_cert_file and webhook.tls_key_file)");
        }
        char api[1024];
        pb_url_redact(cfg->telnyx_api_base, api, sizeof(api));
        if (r->poller && cfg->telnyx_checkpoint_store == PB_CHECKPOINT_KAFKA)
                pb_info("polling %s%s every %llds when elected by group %s on %s (checkpoint "
                        "in Kafka)",
                        api, cfg->telnyx_events_path, (long long)cfg->telnyx_poll_interval_s,
                        cfg->telnyx_poll_group, cfg->topic_control);
        else if (r->poller)
                pb_info("polling %s%s every %llds, checkpoint %s", api, cfg->telnyx_events_path,
                        (long long)cfg->telnyx_poll_interval_s, cfg->telnyx_checkpoint_file);
        pb_info("running (pid %ld)", (long)getpid());
}

/* Shutdown order, decided here and nowhere else: stop ingest, let what is in
 * flight settle (or fail it). Returns the exit code. */
static int run_stop(struct run *r, int sig)
{
        pb_info("%s: stopping: no new requests; up to %lld ms for in-flight events",
                sig == SIGTERM ? "SIGTERM" : "SIGINT", (long long)r->cfg->kafka_flush_timeout_ms);
        pb_sd_notify("STOPPING=1\nSTATUS=stopping: settling in-flight events");
        pb_admin_set_stopping(r->admin);
        if (r->web)
                pb_webhook_quiesce(r->web);
        pb_poller_stop(r->poller);
        size_t failed = pb_pipeline_close(r->pl, (int)r->cfg->kafka_flush_timeout_ms);
        if (failed)
                pb_warn("%zu event(s) not acknowledged by Kafka at shutdown; their webhooks "
                        "were answered 503 (Telnyx re-sends them) and polling reads them again "
                        "from the checkpoint",
                        failed);
        pb_info("stopped%s", failed ? " (exit 75: events undelivered)" : "");
        return failed ? PB_EXIT_TEMPFAIL : PB_EXIT_OK;
}

static void run_free(struct run *r)
{
        pb_desk_free(r->desk);   /* before the poller it asks who leads */
        pb_state_free(r->state); /* the same */
        pb_webhook_free(r->web);
        pb_index_free(r->index);
        pb_poller_free(r->poller);
        pb_admin_free(r->admin);
        pb_pipeline_free(r->pl);
        pb_span_export_free(r->spans, 2000); /* after the pipeline: its last spans */
        pb_metrics_free(r->metrics);
        pb_verifier_free(r->verifier);
        pb_tls_free(r->tls); /* after the listener: no handshake is left */
        pb_config_free(r->cfg);
}

int pb_cmd_run(const pb_globals_t *g, int argc, char **argv)
{
        if (pb_cmd_wants_help(argc, argv, usage))
                return PB_EXIT_OK;
        if (argc > 1) {
                fprintf(stderr, "run: unexpected argument %s\n%s", argv[1], usage);
                return PB_EXIT_USAGE;
        }
        /* Signals are taken synchronously by sigwait(): block them before any
         * thread exists so every thread inherits the mask. SIGHUP reloads the
         * webhook's certificate (nothing else: a closed terminal no longer
         * stops the bridge). */
        sigset_t sigs;
        sigemptyset(&sigs);
        sigaddset(&sigs, SIGTERM);
        sigaddset(&sigs, SIGINT);
        sigaddset(&sigs, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);
        /* An ignored signal is discarded, never pending: sigwait() would
         * not see it. A parent may have left them ignored (nohup, a
         * script's background job): they are ours to take. */
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_IGN);

        struct run r = {.cfg = pb_cmd_load_config(g)};
        if (!r.cfg)
                return PB_EXIT_CONFIG;
        int rc = run_start(&r);
        if (rc == PB_EXIT_OK) {
                run_announce(&r);
                pb_sd_notify("READY=1\nSTATUS=serving");
                struct watchdog *wd = watchdog_start(r.pl);
                int sig = 0;
                int64_t watch_ms = r.tls ? r.cfg->webhook_tls_watch_s * 1000 : 0;
                int64_t next_look = pb_mono_ms() + watch_ms;
                for (;;) {
                        char msg[PB_ERRSZ];
                        if (!watch_ms) {
                                sigwait(&sigs, &sig);
                        } else {
                                /* A second at a time: the files are looked at
                                 * every webhook.tls_watch_s. */
                                struct timespec one = {1, 0};
                                sig = sigtimedwait(&sigs, NULL, &one);
                                if (sig < 0 && pb_mono_ms() >= next_look) {
                                        next_look = pb_mono_ms() + watch_ms;
                                        if (pb_tls_changed(r.tls)) {
                                                pb_info("reload: the certificate or key file "
                                                        "changed");
                                                reload(&r, msg, sizeof(msg));
                                        }
                                }
                                if (sig < 0)
                                        continue;
                        }
                        if (sig != SIGHUP)
                                break;
                        if (r.tls)
                                pb_tls_changed(r.tls); /* seen: the watch does not reload again */
                        reload(&r, msg, sizeof(msg));  /* it logs what it did */
                }
                rc = run_stop(&r, sig);
                watchdog_stop(wd);
        }
        run_free(&r);
        return rc;
}

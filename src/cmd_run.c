#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "log.h"
#include "metrics.h"
#include "pb.h"
#include "poller.h"
#include "producer.h"
#include "verify.h"
#include "webhook.h"

static const char usage[] =
    "Usage: portout-bridge [-c FILE] run\n"
    "\n"
    "Runs the bridge: an HTTP listener receives Telnyx port-out webhooks\n"
    "(webhook.paths), checks their Ed25519 signatures, publishes each event to\n"
    "Kafka and answers 200 only once Kafka has acknowledged it (503 with\n"
    "Retry-After otherwise). Also serves GET /healthz, /readyz and /metrics.\n"
    "With telnyx.poll_enabled it also polls GET /v2/portouts/events and keeps\n"
    "a checkpoint (telnyx.checkpoint_file) that only moves past delivered events.\n"
    "\n"
    "SIGTERM or SIGINT: stop accepting, finish in-flight requests and flush\n"
    "Kafka within kafka.flush_timeout_ms, exit 0.\n"
    "\n"
    "Exit 78 on a configuration error (e.g. no public key while signatures are\n"
    "checked), 69 if the listener cannot bind.\n";

static void sleep_ms(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

int pb_cmd_run(const pb_globals_t *g, int argc, char **argv)
{
        if (pb_cmd_wants_help(argc, argv, usage))
                return PB_EXIT_OK;
        if (argc > 1) {
                fprintf(stderr, "run: unexpected argument %s\n%s", argv[1], usage);
                return PB_EXIT_USAGE;
        }
        /* Signals are taken synchronously by main's sigwait(): block them
         * before any thread exists so every thread inherits the mask. */
        sigset_t sigs;
        sigemptyset(&sigs);
        sigaddset(&sigs, SIGTERM);
        sigaddset(&sigs, SIGINT);
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);
        signal(SIGPIPE, SIG_IGN);

        pb_config_t *cfg = pb_cmd_load_config(g);
        if (!cfg)
                return PB_EXIT_CONFIG;
        int rc = PB_EXIT_OK;
        char err[PB_ERRSZ];
        pb_verifier_t *verifier = NULL;
        pb_producer_t *prod = NULL;
        pb_metrics_t *metrics = NULL;
        pb_webhook_t *web = NULL;
        pb_poller_t *poller = NULL;

        if (!cfg->webhook_enabled && !cfg->telnyx_poll_enabled) {
                fprintf(stderr, PB_NAME ": configuration error: nothing to run: "
                                        "webhook.enabled and telnyx.poll_enabled are both false\n");
                rc = PB_EXIT_CONFIG;
                goto out;
        }
        if (cfg->webhook_enabled && cfg->webhook_verify_signatures) {
                if (!cfg->webhook_public_key) {
                        fprintf(stderr,
                                PB_NAME ": configuration error: webhook signatures are "
                                        "checked but no public key is set (TELNYX_PUBLIC_KEY "
                                        "or webhook.public_key_file)\n");
                        rc = PB_EXIT_CONFIG;
                        goto out;
                }
                verifier = pb_verifier_new(cfg->webhook_public_key,
                                           cfg->webhook_signature_tolerance_s, err, sizeof(err));
                if (!verifier) {
                        fprintf(stderr, PB_NAME ": configuration error: webhook public key: %s\n",
                                err);
                        rc = PB_EXIT_CONFIG;
                        goto out;
                }
        } else if (cfg->webhook_enabled) {
                pb_warn("webhook.verify_signatures is false: ANY client that reaches the "
                        "listener can publish events; never run this way in production");
        }
        prod = pb_producer_new(cfg, err, sizeof(err));
        if (!prod) {
                fprintf(stderr, PB_NAME ": %s\n", err);
                rc = PB_EXIT_CONFIG;
                goto out;
        }
        const char *topics[] = {cfg->topic_status_changed, cfg->topic_foc_date_changed,
                                cfg->topic_new_comment, cfg->topic_other, cfg->topic_dead_letter};
        int found = pb_producer_warmup(prod, topics, 5, 10000);
        pb_info("kafka: metadata for %d of 5 topics", found);
        metrics = pb_metrics_new();
        web = metrics ? pb_webhook_new(cfg, prod, metrics, verifier, err, sizeof(err)) : NULL;
        if (!web) {
                fprintf(stderr, PB_NAME ": %s\n", metrics ? err : "out of memory");
                rc = PB_EXIT_UNAVAILABLE;
                goto out;
        }
        pb_info("listening on %s:%u, webhook paths %s, %d public key(s), signatures %s; "
                "kafka %s",
                cfg->webhook_address, pb_webhook_port(web),
                cfg->webhook_enabled ? cfg->webhook_paths : "(webhooks off)",
                verifier ? pb_verifier_key_count(verifier) : 0,
                verifier ? "checked" : "NOT CHECKED", cfg->kafka_brokers);
        if (cfg->telnyx_poll_enabled) {
                poller = pb_poller_new(cfg, prod, metrics, err, sizeof(err));
                if (!poller) {
                        fprintf(stderr, PB_NAME ": configuration error: polling: %s\n", err);
                        rc = PB_EXIT_CONFIG;
                        goto out;
                }
                pb_info("polling %s%s every %llds, checkpoint %s", cfg->telnyx_api_base,
                        cfg->telnyx_events_path, (long long)cfg->telnyx_poll_interval_s,
                        cfg->telnyx_checkpoint_file);
        }

        int sig = 0;
        sigwait(&sigs, &sig);
        pb_info("%s: stopping: no new connections; finishing in-flight requests",
                sig == SIGTERM ? "SIGTERM" : "SIGINT");
        pb_webhook_quiesce(web);
        pb_poller_free(poller); /* waits for the current poll's deliveries */
        poller = NULL;
        int64_t deadline = pb_mono_ms() + cfg->kafka_flush_timeout_ms;
        while (pb_webhook_in_flight(web) > 0 && pb_mono_ms() < deadline)
                sleep_ms(20);
        int64_t left_ms = deadline - pb_mono_ms();
        size_t left = pb_producer_flush(prod, left_ms > 0 ? (int)left_ms : 0);
        if (left)
                pb_warn("%zu record(s) not acknowledged by Kafka at shutdown; their webhooks "
                        "were answered 503, so Telnyx will re-send them",
                        left);
        pb_info("stopped");
out:
        pb_poller_free(poller);
        pb_webhook_free(web);
        pb_producer_free(prod);
        pb_metrics_free(metrics);
        pb_verifier_free(verifier);
        pb_config_free(cfg);
        return rc;
}

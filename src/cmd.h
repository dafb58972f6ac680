/* Subcommands. Each takes its own argv (argv[0] is the command name) and
 * returns the process exit code (enum pb_exit); main() only dispatches. */
#ifndef PB_CMD_H
#define PB_CMD_H

#include "config.h"
#include "pipeline.h"

/* Options shared by every subcommand. */
typedef struct pb_globals {
        const char *config_path; /* -c FILE, or NULL */
} pb_globals_t;

/* normalize [FILE...|-]: envelopes as NDJSON on stdout, no Kafka. */
int pb_cmd_normalize(const pb_globals_t *g, int argc, char **argv);

/* replay [FILE...|-]: publish every event and wait for its delivery report. */
int pb_cmd_replay(const pb_globals_t *g, int argc, char **argv);

/* run: the daemon (webhook listener, health, metrics). */
int pb_cmd_run(const pb_globals_t *g, int argc, char **argv);

/* fetch EVENT_ID [--publish]: one event from the Telnyx API. */
int pb_cmd_fetch(const pb_globals_t *g, int argc, char **argv);

/* backfill [--since T] [--until T] [--event-type T] [--portout-id ID] [--dry-run] */
int pb_cmd_backfill(const pb_globals_t *g, int argc, char **argv);

/* republish EVENT_ID: ask Telnyx to re-send the webhook. */
int pb_cmd_republish(const pb_globals_t *g, int argc, char **argv);

/* show PORTOUT_ID [--since T] [--json]: a port-out's state and timeline. */
int pb_cmd_show(const pb_globals_t *g, int argc, char **argv);

/* checkpoint: print the poll checkpoint from its store. */
int pb_cmd_checkpoint(const pb_globals_t *g, int argc, char **argv);

/* healthcheck [--ready]: ask the running bridge's admin listener. */
int pb_cmd_healthcheck(const pb_globals_t *g, int argc, char **argv);

/* reload: the running bridge reads its webhook certificate and key again. */
int pb_cmd_reload(const pb_globals_t *g, int argc, char **argv);

/* check-config [--example]: validate and print the effective configuration. */
int pb_cmd_check_config(const pb_globals_t *g, int argc, char **argv);

/* Loads the configuration the way every command does. A missing file at the
 * default path means built-in defaults; an explicit one must exist. Returns
 * NULL after printing the error (exit 78). */
pb_config_t *pb_cmd_load_config(const pb_globals_t *g);

/* What `run` checks before it starts anything, so that check-config passes
 * exactly what run accepts: something to run, the webhook public keys (they
 * must decode to 32 bytes), a Telnyx API key when polling, a writable
 * checkpoint directory. Returns 0, or -1 with errstr set (exit 78). Warnings
 * (an http:// API base off loopback) go to warn(ctx, text) when not NULL. */
int pb_cmd_preflight(const pb_config_t *cfg, void (*warn)(void *ctx, const char *text), void *ctx,
                     char *errstr, size_t errsz);

/* How long a one-shot command (replay, backfill, fetch --publish) lets a
 * refusal by Kafka (credentials, TLS, ACLs) last before it gives up. */
#define PB_CMD_KAFKA_FAIL_FAST_MS 5000

/* After a one-shot command's pipeline closed: if Kafka refused the bridge,
 * prints why on stderr (prefixed by cmd) and returns PB_EXIT_NOPERM; else 0. */
int pb_cmd_kafka_refusal(pb_pipeline_t *pl, const char *cmd);

/* The span exporter when a collector is named (tracing.otlp_endpoint, or
 * the OTEL_EXPORTER_OTLP_* variables) and tracing.propagate is on; *out is
 * NULL when none is. metrics may be NULL. Returns 0, or -1 after saying why
 * on stderr (exit 78). */
int pb_cmd_tracing(const pb_config_t *cfg, pb_metrics_t *metrics, pb_span_export_t **out);

/* Returns 1 if argv holds -h or --help (and prints usage). */
int pb_cmd_wants_help(int argc, char **argv, const char *usage);

/* The one-shot commands' pipeline; on failure says why on stderr, sets *rc
 * to its exit code and returns NULL. */
pb_pipeline_t *pb_cmd_pipeline(const pb_config_t *cfg, const pb_pipeline_opts_t *o, int *rc);

#endif

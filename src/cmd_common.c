#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "http_tls.h"
#include "http_verify.h"
#include "kafka_producer.h"
#include "log.h"
#include "pb.h"
#include "pipeline.h"

static const char *env_lookup(const char *name)
{
        return getenv(name);
}

pb_config_t *pb_cmd_load_config(const pb_globals_t *g)
{
        char err[PB_ERRSZ];
        const char *path = pb_config_path(g->config_path, env_lookup);
        const char *env_path = getenv("PORTOUT_BRIDGE_CONFIG");
        int explicit_path = g->config_path || (env_path && *env_path);
        if (!explicit_path && access(path, F_OK) != 0) {
                pb_debug("no configuration at %s; using built-in defaults", path);
                path = NULL;
        }
        pb_config_t *cfg = pb_config_load(path, env_lookup, err, sizeof(err));
        if (!cfg)
                fprintf(stderr, PB_NAME ": configuration error: %s\n", err);
        else
                pb_config_forget_secret_environment();
        return cfg;
}

int pb_cmd_wants_help(int argc, char **argv, const char *usage)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        break;
                if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
                        fputs(usage, stdout);
                        return 1;
                }
        }
        return 0;
}

int pb_cmd_kafka_refusal(pb_pipeline_t *pl, const char *cmd)
{
        pb_producer_t *prod = pl ? pb_pipeline_producer(pl) : NULL;
        if (!prod)
                return 0;
        pb_producer_stats_t st;
        pb_producer_stats(prod, &st);
        if (!st.refused_records && !st.refused)
                return 0;
        fprintf(stderr,
                "%s: Kafka refused the bridge (%s): %s\n"
                "%s: check the credentials, certificates and ACLs in kafka.properties "
                "(docs/operations.md, \"Connecting to a secured Kafka\")\n",
                cmd, pb_kafka_problem_name(st.last_refusal), st.refusal_text, cmd);
        return PB_EXIT_NOPERM;
}

int pb_cmd_preflight(const pb_config_t *cfg, void (*warn)(void *ctx, const char *text), void *ctx,
                     char *errstr, size_t errsz)
{
        if (!cfg->webhook_enabled && !cfg->telnyx_poll_enabled && !cfg->state_enabled &&
            !cfg->desk_enabled)
                return pb_seterr(errstr, errsz,
                                 "nothing to run: webhook.enabled, telnyx.poll_enabled, "
                                 "state.enabled and desk.enabled are all false");
        if (cfg->webhook_enabled && cfg->webhook_verify_signatures) {
                if (!cfg->webhook_public_key || !*cfg->webhook_public_key)
                        return pb_seterr(errstr, errsz,
                                         "webhook signatures are checked but no public key is set "
                                         "(TELNYX_PUBLIC_KEY or webhook.public_key_file)");
                char e[PB_ERRSZ];
                pb_verifier_t *v = pb_verifier_new(
                    cfg->webhook_public_key, cfg->webhook_signature_tolerance_s, e, sizeof(e));
                if (!v)
                        return pb_seterr(errstr, errsz, "webhook public key: %s", e);
                pb_verifier_free(v);
        }
        if (cfg->telnyx_poll_enabled) {
                if (!cfg->telnyx_api_key || !*cfg->telnyx_api_key)
                        return pb_seterr(errstr, errsz,
                                         "polling needs a Telnyx API key: set TELNYX_API_KEY or "
                                         "telnyx.api_key_file");
                if (cfg->telnyx_checkpoint_store == PB_CHECKPOINT_FILE) {
                        char dir[4096];
                        snprintf(dir, sizeof(dir), "%s", cfg->telnyx_checkpoint_file);
                        const char *d = dirname(dir);
                        if (access(d, W_OK | X_OK) != 0)
                                return pb_seterr(errstr, errsz,
                                                 "telnyx.checkpoint_file: its directory %s is not "
                                                 "writable by this user",
                                                 d);
                }
        }
        if (cfg->webhook_enabled) {
                const char *c = cfg->webhook_tls_cert_file, *k = cfg->webhook_tls_key_file;
                int hc = c && *c, hk = k && *k;
                if (hc != hk)
                        return pb_seterr(errstr, errsz,
                                         "webhook.tls_cert_file and webhook.tls_key_file go "
                                         "together: set both for TLS, neither for plain HTTP");
                pb_tls_info_t info;
                char e[PB_ERRSZ];
                if (hc && pb_tls_check(c, k, &info, e, sizeof(e)))
                        return pb_seterr(errstr, errsz, "webhook TLS: %s", e);
        }
        (void)warn; /* (an http:// api_base is warned about by the loader, for every command) */
        (void)ctx;
        return 0;
}

pb_pipeline_t *pb_cmd_pipeline(const pb_config_t *cfg, const pb_pipeline_opts_t *o, int *rc)
{
        char err[PB_ERRSZ];
        pb_fail_t fail = PB_FAIL_CONFIG;
        pb_pipeline_t *pl = pb_pipeline_new(cfg, NULL, o, &fail, err, sizeof(err));
        if (!pl) {
                fprintf(stderr, PB_NAME ": %s\n", err);
                *rc = pb_fail_exit(fail);
        }
        return pl;
}

static const char *env_get(const char *name)
{
        return getenv(name);
}

int pb_cmd_tracing(const pb_config_t *cfg, pb_metrics_t *metrics, pb_span_export_t **out)
{
        char url[2048], err[PB_ERRSZ];
        *out = NULL;
        if (!pb_span_export_url(cfg->tracing_otlp_endpoint, env_get, url, sizeof(url)))
                return 0;
        if (!cfg->tracing_propagate) {
                pb_warn("tracing: an OTLP endpoint is set but tracing.propagate is false: no "
                        "spans are exported");
                return 0;
        }
        const char *proto = getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");
        if (!proto)
                proto = getenv("OTEL_EXPORTER_OTLP_PROTOCOL");
        if (proto && strcmp(proto, "http/json") != 0)
                pb_warn("tracing: OTEL_EXPORTER_OTLP_PROTOCOL=%.32s: the bridge sends http/json",
                        proto);
        /* OTEL_EXPORTER_OTLP_HEADERS: "name=value,name=value" (credentials:
         * copied into the request, never logged). */
        char *hdrs = NULL, *save = NULL;
        const char *list[33];
        size_t n = 0;
        const char *h = getenv("OTEL_EXPORTER_OTLP_HEADERS");
        if (h && *h && (hdrs = strdup(h))) {
                for (char *kv = strtok_r(hdrs, ",", &save); kv && n < 32;
                     kv = strtok_r(NULL, ",", &save)) {
                        char *eq = strchr(kv, '=');
                        if (!eq || eq == kv)
                                continue;
                        *eq = ':'; /* "name:value" is a curl header line */
                        list[n++] = kv;
                }
        }
        list[n] = NULL;
        *out = pb_span_export_new(url, list, PB_VERSION, metrics, err, sizeof(err));
        free(hdrs); /* the exporter copied them */
        if (!*out) {
                fprintf(stderr, PB_NAME ": configuration error: %s\n", err);
                return -1;
        }
        return 0;
}

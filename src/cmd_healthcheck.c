#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "pb.h"

/* healthcheck and reload: both ask the running bridge's admin listener. */
static const char usage[] =
    "Usage: portout-bridge [-c FILE] healthcheck [--ready]\n"
    "\n"
    "Asks the running bridge's admin listener (admin.address, admin.port) for\n"
    "GET /healthz, or /readyz with --ready, and prints the answer. For\n"
    "container HEALTHCHECKs and probes where no HTTP client is installed.\n"
    "Exit 0 if it answered 200, 1 otherwise (unhealthy, not ready, or no\n"
    "answer within 2 s), 78 on a configuration error.\n";

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
        fwrite(p, size, n, ud);
        return size * n;
}

static const char reload_usage[] =
    "Usage: portout-bridge [-c FILE] reload\n"
    "\n"
    "Asks the running bridge (POST /-/reload on its admin listener) to read\n"
    "webhook.tls_cert_file and webhook.tls_key_file again, as SIGHUP does: new\n"
    "handshakes use the new pair, open connections keep theirs; a pair that does\n"
    "not load or does not match is refused and the old one stays.\n"
    "Exit 0 if reloaded (or nothing to reload), 1 if refused or no answer, 78 on a\n"
    "configuration error.\n";

/* Asks the admin listener for path (POST if post); prints the answer.
 * Returns the exit code: 0 on 200, 1 otherwise. */
static int ask_admin(const pb_globals_t *g, const char *cmd, const char *path, int post)
{
        pb_config_t *cfg = pb_cmd_load_config(g);
        if (!cfg)
                return PB_EXIT_CONFIG;
        if (!cfg->admin_enabled) {
                fprintf(stderr, "%s: admin.enabled is false: nothing to ask\n", cmd);
                pb_config_free(cfg);
                return PB_EXIT_CONFIG;
        }
        /* A wildcard bind is reached on loopback. */
        const char *host = cfg->admin_address;
        if (strcmp(host, "0.0.0.0") == 0)
                host = "127.0.0.1";
        else if (strcmp(host, "::") == 0)
                host = "::1";
        char url[256];
        snprintf(url, sizeof(url), strchr(host, ':') ? "http://[%s]:%lld%s" : "http://%s:%lld%s",
                 host, (long long)cfg->admin_port, path);
        pb_config_free(cfg);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        CURL *c = curl_easy_init();
        long code = 0;
        CURLcode cc = CURLE_FAILED_INIT;
        if (c) {
                curl_easy_setopt(c, CURLOPT_URL, url);
                curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
                curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
                curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
                curl_easy_setopt(c, CURLOPT_WRITEDATA, stdout);
                if (post)
                        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
                cc = curl_easy_perform(c);
                if (cc == CURLE_OK)
                        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
                curl_easy_cleanup(c);
        }
        curl_global_cleanup();
        if (cc != CURLE_OK) {
                fprintf(stderr, "%s: %s: %s\n", cmd, url, curl_easy_strerror(cc));
                return 1;
        }
        fputc('\n', stdout);
        return code == 200 ? PB_EXIT_OK : 1;
}

int pb_cmd_healthcheck(const pb_globals_t *g, int argc, char **argv)
{
        if (pb_cmd_wants_help(argc, argv, usage))
                return PB_EXIT_OK;
        int ready = 0;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--ready") == 0) {
                        ready = 1;
                } else {
                        fprintf(stderr, "healthcheck: unexpected argument %s\n%s", argv[i], usage);
                        return PB_EXIT_USAGE;
                }
        }
        return ask_admin(g, "healthcheck", ready ? "/readyz" : "/healthz", 0);
}

int pb_cmd_reload(const pb_globals_t *g, int argc, char **argv)
{
        if (pb_cmd_wants_help(argc, argv, reload_usage))
                return PB_EXIT_OK;
        if (argc > 1) {
                fprintf(stderr, "reload: unexpected argument %s\n%s", argv[1], reload_usage);
                return PB_EXIT_USAGE;
        }
        return ask_admin(g, "reload", "/-/reload", 1);
}

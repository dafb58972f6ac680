#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "pb.h"

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
        pb_config_t *cfg = pb_cmd_load_config(g);
        if (!cfg)
                return PB_EXIT_CONFIG;
        if (!cfg->admin_enabled) {
                fprintf(stderr, "healthcheck: admin.enabled is false: nothing to ask\n");
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
                 host, (long long)cfg->admin_port, ready ? "/readyz" : "/healthz");
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
                cc = curl_easy_perform(c);
                if (cc == CURLE_OK)
                        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
                curl_easy_cleanup(c);
        }
        curl_global_cleanup();
        if (cc != CURLE_OK) {
                fprintf(stderr, "healthcheck: %s: %s\n", url, curl_easy_strerror(cc));
                return 1;
        }
        fputc('\n', stdout);
        return code == 200 ? PB_EXIT_OK : 1;
}

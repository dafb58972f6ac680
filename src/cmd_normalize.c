#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "file_ingest.h"
#include "normalize.h"
#include "pb.h"

static const char usage[] =
    "Usage: portout-bridge [-c FILE] normalize [FILE...|-]\n"
    "\n"
    "Reads Telnyx port-out events (one JSON document per line: REST records,\n"
    "show/list responses, webhook deliveries) and prints one CloudEvents\n"
    "envelope per event as NDJSON on stdout. Nothing is sent to Kafka.\n"
    "Rejected input is reported on stderr as FILE:LINE: reason.\n"
    "Exit 0 if every event was normalized, 65 if any was rejected.\n";

struct norm_ctx {
        const pb_config_t *cfg;
        size_t ok, rejected;
        struct json_tokener *tok; /* reused for every document */
};

static int on_doc(void *arg, const char *where, const char *doc, size_t len, const char *error)
{
        struct norm_ctx *c = arg;
        if (!doc) {
                fprintf(stderr, "%s: %s\n", where, error);
                c->rejected++;
                return 0;
        }
        pb_norm_opts_t opts = {c->cfg->envelope_source, c->tok, c->cfg->privacy, 0};
        pb_ingest_t ing = {PB_INGEST_FILE, pb_now_ms() * 1000};
        pb_batch_t *b = pb_normalize(&opts, doc, len, &ing);
        if (!b) {
                fprintf(stderr, "%s: out of memory\n", where);
                c->rejected++;
                return 1;
        }
        for (size_t i = 0; i < b->cnt; i++) {
                if (b->items[i].env) {
                        fwrite(b->items[i].env->json, 1, b->items[i].env->json_len, stdout);
                        fputc('\n', stdout);
                        c->ok++;
                } else {
                        fprintf(stderr, "%s: %s\n", where, b->items[i].error);
                        c->rejected++;
                }
        }
        pb_batch_free(b);
        return 0;
}

int pb_cmd_normalize(const pb_globals_t *g, int argc, char **argv)
{
        if (pb_cmd_wants_help(argc, argv, usage))
                return PB_EXIT_OK;
        pb_config_t *cfg = pb_cmd_load_config(g);
        if (!cfg)
                return PB_EXIT_CONFIG;
        struct norm_ctx c = {cfg, 0, 0, json_tokener_new()};
        int rc =
            pb_ingest_files(argv + 1, argc - 1, (size_t)cfg->input_max_event_bytes, on_doc, &c);
        fflush(stdout);
        if (c.tok)
                json_tokener_free(c.tok);
        pb_config_free(cfg);
        if (rc || c.rejected)
                return PB_EXIT_DATAERR;
        return PB_EXIT_OK;
}

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "pb.h"
#include "pipeline.h"
#include "producer.h"

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

int pb_cmd_kafka_refusal(struct pb_pipeline *pl, const char *cmd)
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

/* libFuzzer target: the configuration loader, with ${VAR} substitution from
 * a fixed environment (values with quotes, newlines and "${" in them).
 * Invariants: a configuration or an error, never both, never neither; the
 * error names something (non-empty); a loaded configuration builds its
 * librdkafka producer settings or says why not. Built by scripts/fuzz.sh
 * with clang. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "producer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(const char *name)
{
        if (!strcmp(name, "BROKERS"))
                return "127.0.0.1:9092";
        if (!strcmp(name, "QUOTE"))
                return "a\"; kafka = { brokers = \"evil:1\"; }; x = \"";
        if (!strcmp(name, "NL"))
                return "line\nbreak";
        if (!strcmp(name, "NESTED"))
                return "${BROKERS}";
        if (!strcmp(name, "EMPTY"))
                return "";
        return NULL;
}

static int holds(const uint8_t *d, size_t n, const char *s)
{
        size_t l = strlen(s);
        for (size_t i = 0; i + l <= n; i++)
                if (!memcmp(d + i, s, l))
                        return 1;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char path[64];
        if (!path[0])
                snprintf(path, sizeof(path), "/tmp/fuzz-config-%d.conf", (int)getpid());
        FILE *f = fopen(path, "wb");
        if (!f)
                return 0;
        fwrite(data, 1, size, f);
        fclose(f);
        char err[1024] = "";
        pb_config_t *cfg = pb_config_load(path, lookup, err, sizeof(err));
        if (!cfg) {
                if (!err[0])
                        abort(); /* refused without a reason */
                return 0;
        }
        if (cfg->kafka_brokers && strstr(cfg->kafka_brokers, "evil:1") &&
            !holds(data, size, "evil:1"))
                abort(); /* an environment value became configuration syntax */
        char perr[512];
        (void)pb_producer_conf_check(cfg, perr, sizeof(perr));
        pb_config_free(cfg);
        return 0;
}

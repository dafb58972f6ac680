/* libFuzzer target: the configuration loader, with ${VAR} substitution from
 * a fixed environment (values with quotes, newlines and "${" in them).
 * Invariants: a configuration or an error, never both, never neither; a
 * refusal says where and why: it starts with the file's path and a colon
 * (a line number or an @include name may follow) and has a reason after
 * it, so an operator can find what to fix; a loaded configuration builds its
 * librdkafka producer settings or says why not. Built by scripts/fuzz.sh
 * with clang. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "kafka_conf.h"
#include "kafka_producer.h"
#include "pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The environment; quote_value is what ${QUOTE} gives. */
static const char *quote_value;

static const char *lookup(const char *name)
{
        if (!strcmp(name, "BROKERS"))
                return "127.0.0.1:9092";
        if (!strcmp(name, "QUOTE"))
                return quote_value;
        if (!strcmp(name, "NL"))
                return "line\nbreak";
        if (!strcmp(name, "NESTED"))
                return "${BROKERS}";
        if (!strcmp(name, "EMPTY"))
                return "";
        return NULL;
}

/* A value that tries to close its string and set kafka.brokers. */
static const char evil_quote[] = "a\"; kafka = { brokers = \"evil:1\"; }; x = \"";

static int holds(const uint8_t *d, size_t n, const char *s)
{
        size_t l = strlen(s);
        for (size_t i = 0; i + l <= n; i++)
                if (!memcmp(d + i, s, l))
                        return 1;
        return 0;
}

/* "<path>:[<line>:] ...: <reason>", whole (not cut by the buffer: a long
 * quoted value once pushed the reason out), with words after the place;
 * "out of memory" alone is the one refusal with no place. */
static int says_why(const char *err, size_t errsz, const char *path)
{
        if (!strcmp(err, "out of memory"))
                return 1;
        size_t pl = strlen(path);
        if (strncmp(err, path, pl) != 0 || err[pl] != ':' || strlen(err) >= errsz - 1)
                return 0;
        const char *reason = strstr(err + pl, ": ");
        size_t letters = 0;
        for (const char *p = reason; p && *p; p++)
                letters += (*p >= 'a' && *p <= 'z');
        return letters >= 6;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char path[64];
        /* In memory where there is /dev/shm: a disk write per input made
         * the kernel most of each execution. */
        if (!path[0])
                snprintf(path, sizeof(path), "%s/fuzz-config-%d.conf",
                         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
        FILE *f = fopen(path, "wb");
        if (!f)
                return 0;
        fwrite(data, 1, size, f);
        fclose(f);
        char err[PB_ERRSZ] = ""; /* as the program's own */
        quote_value = evil_quote;
        pb_config_t *cfg = pb_config_load(path, lookup, err, sizeof(err));
        if (!cfg) {
                if (!says_why(err, sizeof(err), path))
                        abort(); /* refused without saying where or why */
                return 0;
        }
        if (cfg->kafka_brokers && strcmp(cfg->kafka_brokers, "evil:1") == 0 &&
            holds(data, size, "QUOTE")) {
                /* Substituted as data, ${QUOTE} gives brokers its whole text,
                 * quotes and all; only as syntax does it make brokers exactly
                 * "evil:1". The text alone may spell that too (adjacent
                 * strings join, so does a ${VAR:-default} with its
                 * neighbours): load it again with a harmless ${QUOTE}. */
                char err2[1024];
                quote_value = "harmless";
                pb_config_t *again = pb_config_load(path, lookup, err2, sizeof(err2));
                int injected =
                    !again || !again->kafka_brokers || strcmp(again->kafka_brokers, "evil:1") != 0;
                pb_config_free(again);
                if (injected)
                        abort();
        }
        char perr[512];
        (void)pb_kafka_conf_check(cfg, perr, sizeof(perr));
        pb_config_free(cfg);
        return 0;
}

/* Memory of the state writer's port-out table (state_table.h, as
 * state_writer.c holds it): puts N port-outs (UUID ids, a status, three
 * times) and prints the resident memory it took, per thousand port-outs, and
 * the time deadlines() takes over the table. Measures, never fails.
 *   cc -O2 -Isrc -I/usr/include/json-c bench/state_memory.c build/libpbcore.a \
 *      -ljson-c -lsodium -lcurl -lpthread -o /tmp/state_memory
 *   /tmp/state_memory [N]   (default 100000) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "state_table.h"

static long rss_kib(void)
{
        FILE *f = fopen("/proc/self/status", "r");
        char line[256];
        long kib = -1;
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "VmRSS:", 6) == 0)
                        kib = strtol(line + 6, NULL, 10);
        if (f)
                fclose(f);
        return kib;
}

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
        size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
        long before = rss_kib();
        pb_stable_t *t = pb_stable_new();
        pb_portout_view_t v;
        for (size_t i = 0; i < n; i++) {
                memset(&v, 0, sizeof(v));
                snprintf(v.id, sizeof(v.id), "%08zx-1111-4000-8000-%012zx", i, i * 2654435761u);
                snprintf(v.status, sizeof(v.status), "%s", pb_portout_statuses[i % 6]);
                snprintf(v.updated_at, sizeof(v.updated_at), "2026-03-01T00:00:%02zu.%06zuZ", i % 60,
                         i % 1000000);
                v.updated_us = (int64_t)i + 1;
                v.created_us = (int64_t)i;
                v.foc_us = (int64_t)i * 1000;
                pb_stable_put(t, &v);
        }
        long after = rss_kib();
        double t0 = now_s();
        pb_stable_deadlines_t d;
        pb_stable_deadlines(t, (int64_t)n * 2, 1, &d, NULL, NULL);
        double took = now_s() - t0;
        printf("%zu port-outs: %.1f MiB resident, %.0f bytes each, %.1f KiB per thousand; "
               "deadlines over the table in %.1f ms\n",
               pb_stable_size(t), (after - before) / 1024.0, (after - before) * 1024.0 / (double)n,
               (after - before) * 1000.0 / (double)n, took * 1000);
        pb_stable_free(t);
        return 0;
}

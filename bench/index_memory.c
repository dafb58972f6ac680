/* Memory of the index's id set (pb_dedupe_t, as kafka_index.c and kafka_reconcile.c
 * hold it): adds N event ids (36-character UUIDs, as Telnyx's) and prints the
 * resident memory it took, per million ids. Measures, never fails.
 *   cc -O2 -Isrc bench/index_memory.c build/libpbcore.a -lpthread -o /tmp/index_memory
 *   /tmp/index_memory [N]   (default 1000000) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedupe.h"

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

int main(int argc, char **argv)
{
        size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
        long before = rss_kib();
        pb_dedupe_t *d = pb_dedupe_new(n, INT64_MAX / 4);
        char id[40];
        for (size_t i = 0; i < n; i++) {
                snprintf(id, sizeof(id), "%08zx-0000-4000-8000-%012zx", i, i * 2654435761u);
                pb_dedupe_add(d, id, (int64_t)i);
        }
        long after = rss_kib();
        printf("%zu ids: %.1f MiB resident, %.0f bytes per id, %.1f MiB per million\n",
               pb_dedupe_size(d), (after - before) / 1024.0, (after - before) * 1024.0 / (double)n,
               (after - before) / 1024.0 * 1e6 / (double)n);
        pb_dedupe_free(d);
        return 0;
}

/* Normalizing alone, in memory: every line of an NDJSON file through
 * pb_normalize(), the common case read from the text's spans against the
 * json-c path (tree_only) in the same process, alternated ROUNDS times,
 * under the bridge's default privacy policy (the PIN dropped) and with a
 * reused json-c parser, as replay's reader has. Events/s of each and their
 * ratio. Measures, never fails.
 *   cmake --build build --target bench_normalize_cost   (bench/normalize.sh does)
 *   build/bench_normalize_cost FILE [ROUNDS]   (default 5)
 *   build/bench_normalize_cost FILE ROUNDS spans   the spans path only (to profile it) */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "normalize.h"
#include "privacy.h"

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct line {
        const char *s;
        size_t n;
};

static double run(const pb_norm_opts_t *o, const struct line *l, size_t n, size_t *events)
{
        pb_ingest_t ing = {PB_INGEST_FILE, INT64_C(1772800000) * 1000000};
        double t0 = now_s();
        size_t ev = 0;
        for (size_t i = 0; i < n; i++) {
                pb_batch_t *b = pb_normalize(o, l[i].s, l[i].n, &ing);
                if (!b) {
                        fprintf(stderr, "out of memory\n");
                        exit(1);
                }
                for (size_t k = 0; k < b->cnt; k++)
                        ev += b->items[k].env != NULL;
                pb_batch_free(b);
        }
        *events = ev;
        return now_s() - t0;
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: %s FILE [ROUNDS]\n", argv[0]);
                return 64;
        }
        int rounds = argc > 2 ? atoi(argv[2]) : 5;
        int spans_only = argc > 3 && strcmp(argv[3], "spans") == 0;
        FILE *f = fopen(argv[1], "rb");
        if (!f) {
                perror(argv[1]);
                return 66;
        }
        fseek(f, 0, SEEK_END);
        long sz = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *buf = malloc((size_t)sz + 1);
        if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
                fprintf(stderr, "cannot read %s\n", argv[1]);
                return 66;
        }
        fclose(f);
        buf[sz] = '\0';
        size_t cap = 1024, n = 0;
        struct line *l = malloc(cap * sizeof(*l));
        for (char *p = buf, *e; l && p < buf + sz; p = e + 1) {
                e = memchr(p, '\n', (size_t)(buf + sz - p));
                if (!e)
                        e = buf + sz;
                if (e == p)
                        continue;
                if (n == cap) {
                        cap *= 2;
                        struct line *nl = realloc(l, cap * sizeof(*l));
                        if (!nl)
                                return 1;
                        l = nl;
                }
                l[n].s = p;
                l[n].n = (size_t)(e - p);
                n++;
        }
        pb_privacy_t *pv = pb_privacy_new("payload.attempted_pin", NULL, NULL, 0, NULL, 0);
        json_tokener *tok = json_tokener_new();
        pb_norm_opts_t spans = {"https://api.telnyx.com/v2/portouts", tok, pv, 0};
        pb_norm_opts_t tree = spans;
        tree.tree_only = 1;
        printf("%zu documents, %ld bytes\n", n, sz);
        for (int r = 0; r < rounds; r++) {
                size_t ea = 0, eb = 0;
                double tt = spans_only ? 0 : run(&tree, l, n, &eb);
                double ts = run(&spans, l, n, &ea);
                printf("round %d: json-c path %.0f events/s, spans %.0f events/s (%zu, %zu "
                       "envelopes), ratio %.2f\n",
                       r + 1, (double)eb / tt, (double)ea / ts, eb, ea, tt / ts);
        }
        json_tokener_free(tok);
        pb_privacy_free(pv);
        free(l);
        free(buf);
        return 0;
}

/* What the deadline look costs the state writer (docs/performance.md): a
 * table of N port-outs, P of them pending with a 1 KiB JSON each (the doc a
 * deadline event carries), thresholds 12 h and 20 h. Times one look with
 * nothing due (the steady state: every pair announced or not yet crossed),
 * one look with every threshold due (a writer taking office after a long
 * absence: the 64 oldest copied out), and the memory the pending docs hold.
 * Measures, never fails.
 *   cmake --build build --target bench_deadline_cost
 *   build/bench_deadline_cost [PENDING] [OTHERS] [LOOKS]   (default 1000 9000 200) */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadline.h"
#include "state_table.h"
#include "timefmt.h"

#define S 1000000LL

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t heap(void)
{
        struct mallinfo2 mi = mallinfo2();
        return mi.uordblks;
}

int main(int argc, char **argv)
{
        size_t pending = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
        size_t others = argc > 2 ? strtoul(argv[2], NULL, 10) : 9000;
        int looks = argc > 3 ? atoi(argv[3]) : 200;
        const int64_t thr[] = {43200, 72000};
        const int64_t now = 1800000000 * S;
        char doc[1024];
        memset(doc, 'x', sizeof(doc));
        doc[0] = '"';
        doc[sizeof(doc) - 1] = '"';
        size_t before = heap();
        pb_stable_t *t = pb_stable_new();
        pb_deadlines_t *d = pb_deadlines_new();
        for (size_t i = 0; i < pending + others; i++) {
                pb_portout_view_t v;
                memset(&v, 0, sizeof(v));
                snprintf(v.id, sizeof(v.id), "%08zx-3333-4000-8000-%012zx", i, i);
                snprintf(v.status, sizeof(v.status), "%s", i < pending ? "pending" : "ported");
                /* ages spread over two days: some past both thresholds */
                v.created_us = now - (int64_t)(i * 7919 % 172800) * S;
                v.updated_us = v.created_us + S;
                pb_time_format_us(v.updated_us, v.updated_at, sizeof(v.updated_at));
                pb_stable_put_doc(t, &v, doc, sizeof(doc));
        }
        size_t table = heap() - before;
        pb_deadline_due_t due[64];
        size_t filled, n;
        double t0 = now_s();
        n = pb_deadlines_due(d, t, thr, 2, now, due, 64, &filled);
        double first = now_s() - t0;
        pb_deadlines_due_clear(due, filled);
        /* announce everything due: the steady state finds nothing */
        size_t announced = 0;
        while ((pb_deadlines_due(d, t, thr, 2, now, due, 64, &filled)) > 0) {
                for (size_t i = 0; i < filled; i++)
                        announced += pb_deadlines_mark(d, due[i].v.id, due[i].threshold_s) == 1;
                pb_deadlines_due_clear(due, filled);
        }
        size_t marks = heap() - before - table;
        t0 = now_s();
        for (int i = 0; i < looks; i++)
                if (pb_deadlines_due(d, t, thr, 2, now, due, 64, &filled))
                        pb_deadlines_due_clear(due, filled);
        double steady = (now_s() - t0) / looks;
        printf("table: %zu port-outs (%zu pending, 1 KiB doc each): %.1f MiB heap "
               "(%.0f bytes a port-out held)\n",
               pending + others, pending, (double)table / 1048576,
               (double)table / (double)(pending + others));
        printf("first look, %zu due (64 copied out): %.3f ms\n", n, first * 1e3);
        printf("announced set: %zu pairs, %.0f KiB (%.0f bytes a pair)\n", announced,
               (double)marks / 1024, announced ? (double)marks / (double)announced : 0);
        printf("steady look (nothing due), mean of %d: %.3f ms; %.1f us per 1000 pending, "
               "%.1f us per 1000 port-outs held\n",
               looks, steady * 1e3, steady * 1e6 * 1000 / (double)(pending ? pending : 1),
               steady * 1e6 * 1000 / (double)(pending + others));
        pb_deadlines_free(d);
        pb_stable_free(t);
        return 0;
}

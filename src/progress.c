#include "progress.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pb.h"

struct pb_progress {
        char what[32];
        pb_progress_fn *fn;
        void *ctx;
        int tty;
        int64_t start_ms;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int stop;
};

static void human(double v, char *out, size_t outsz)
{
        if (v >= 1e9)
                snprintf(out, outsz, "%.1fG", v / 1e9);
        else if (v >= 1e6)
                snprintf(out, outsz, "%.1fM", v / 1e6);
        else if (v >= 1e4)
                snprintf(out, outsz, "%.1fk", v / 1e3);
        else
                snprintf(out, outsz, "%.0f", v);
}

void pb_progress_format(const pb_progress_state_t *st, double elapsed_s, char *out, size_t outsz)
{
        char done[16], total[16], ev[16], dl[16], rate[16], eta[32] = "";
        int bytes = strcmp(st->unit, "bytes") == 0;
        human((double)st->done, done, sizeof(done));
        human((double)st->total, total, sizeof(total));
        human((double)st->events, ev, sizeof(ev));
        human((double)st->delivered, dl, sizeof(dl));
        human(elapsed_s > 0 ? (double)st->delivered / elapsed_s : 0, rate, sizeof(rate));
        if (st->total > 0 && st->done > 0 && st->done < st->total && elapsed_s > 0) {
                double left = elapsed_s * (double)(st->total - st->done) / (double)st->done;
                snprintf(eta, sizeof(eta), ", ETA %d:%02d", (int)(left / 60), (int)left % 60);
        }
        if (st->total > 0)
                snprintf(out, outsz, "%s/%s %s (%d%%), %s events, %s delivered, %s/s%s", done,
                         total, bytes ? "bytes" : st->unit,
                         (int)(100.0 * (double)st->done / (double)st->total), ev, dl, rate, eta);
        else
                snprintf(out, outsz, "%s %s, %s events, %s delivered, %s/s", done, st->unit, ev, dl,
                         rate);
}

static void render(pb_progress_t *p, int final)
{
        pb_progress_state_t st;
        memset(&st, 0, sizeof(st));
        st.unit = "";
        p->fn(p->ctx, &st);
        char line[256];
        pb_progress_format(&st, (double)(pb_mono_ms() - p->start_ms) / 1000.0, line, sizeof(line));
        if (p->tty) {
                /* \r and clear to the end of the line: one live line */
                fprintf(stderr, "\r%s: %s\033[K%s", p->what, line, final ? "\n" : "");
                fflush(stderr);
        } else {
                pb_info("%s progress: %s", p->what, line);
        }
}

static void *progress_main(void *arg)
{
        pb_progress_t *p = arg;
        int64_t every = p->tty ? 250 : 5000, next = pb_mono_ms() + every;
        pthread_mutex_lock(&p->lock);
        while (!p->stop) {
                int64_t now = pb_mono_ms();
                if (now < next) {
                        pb_cond_timedwait_ms(&p->cond, &p->lock, next - now);
                        continue;
                }
                pthread_mutex_unlock(&p->lock);
                render(p, 0);
                pthread_mutex_lock(&p->lock);
                next += every;
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

pb_progress_t *pb_progress_start(const char *what, int quiet, pb_progress_fn *fn, void *ctx)
{
        if (quiet)
                return NULL;
        pb_progress_t *p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        snprintf(p->what, sizeof(p->what), "%s", what);
        p->fn = fn;
        p->ctx = ctx;
        p->tty = isatty(STDERR_FILENO);
        p->start_ms = pb_mono_ms();
        pthread_mutex_init(&p->lock, NULL);
        pb_cond_init(&p->cond);
        if (pthread_create(&p->thread, NULL, progress_main, p)) {
                pthread_mutex_destroy(&p->lock);
                pthread_cond_destroy(&p->cond);
                free(p);
                return NULL;
        }
        return p;
}

void pb_progress_stop(pb_progress_t *p)
{
        if (!p)
                return;
        pthread_mutex_lock(&p->lock);
        p->stop = 1;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
        if (p->tty)
                render(p, 1); /* the last numbers stay on screen */
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p);
}

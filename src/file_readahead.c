#include "file_readahead.h"

#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_ingest.h"
#include "pb.h"

/* Documents queued before the consumer is woken, and the fill below which a
 * reader waiting for room is woken. */
#define WAKE_AT    32
#define ROOM_BELOW (PB_READAHEAD_DOCS / 2)

struct pb_readahead {
        char *const *files;
        int nfiles;
        size_t max_doc;
        pb_norm_opts_t nopts;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t room, ready;
        pb_ahead_doc_t *q; /* ring of PB_READAHEAD_DOCS */
        size_t head, cnt, bytes;
        int done, stop;
        int reader_waits; /* the reader sleeps for room */
};

/* Reader thread: one document, normalized, into the queue (in order). */
static int on_doc(void *arg, const char *where, const char *doc, size_t len, const char *error)
{
        pb_readahead_t *ra = arg;
        pb_ahead_doc_t d;
        memset(&d, 0, sizeof(d));
        snprintf(d.where, sizeof(d.where), "%s", where);
        d.len = len;
        d.received_us = pb_now_ms() * 1000;
        if (doc) {
                pb_ingest_t ing = {PB_INGEST_FILE, d.received_us};
                d.batch = pb_normalize(&ra->nopts, doc, len, &ing);
                if (!d.batch)
                        snprintf(d.error, sizeof(d.error), "out of memory normalizing it");
        } else {
                snprintf(d.error, sizeof(d.error), "%s", error ? error : "unreadable");
        }
        pthread_mutex_lock(&ra->lock);
        while (!ra->stop && ra->cnt > 0 &&
               (ra->cnt == PB_READAHEAD_DOCS || ra->bytes + len > PB_READAHEAD_BYTES)) {
                pthread_cond_signal(&ra->ready); /* full: the consumer must run */
                ra->reader_waits = 1;
                pthread_cond_wait(&ra->room, &ra->lock);
                ra->reader_waits = 0;
        }
        int stop = ra->stop;
        if (!stop) {
                ra->q[(ra->head + ra->cnt) % PB_READAHEAD_DOCS] = d;
                ra->cnt++;
                ra->bytes += len;
                /* Hand over in batches: waking the consumer for every
                 * document made the two threads take turns, a context
                 * switch per event. A consumer that finds the queue empty
                 * waits at most its timeout for a partial batch. */
                if (ra->cnt == WAKE_AT)
                        pthread_cond_signal(&ra->ready);
        }
        pthread_mutex_unlock(&ra->lock);
        if (stop)
                pb_batch_free(d.batch);
        return stop;
}

static void *reader_main(void *arg)
{
        pb_readahead_t *ra = arg;
        /* Signals are the consumer's to notice (replay's SIGINT/SIGTERM). */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        /* An unopenable file is reported through on_doc (doc NULL). */
        pb_ingest_files(ra->files, ra->nfiles, ra->max_doc, on_doc, ra);
        pthread_mutex_lock(&ra->lock);
        ra->done = 1;
        pthread_cond_broadcast(&ra->ready);
        pthread_mutex_unlock(&ra->lock);
        return NULL;
}

/* Frees what start() set up, once the reader is gone (or never ran). */
static void destroy(pb_readahead_t *ra)
{
        pthread_mutex_destroy(&ra->lock);
        pthread_cond_destroy(&ra->room);
        pthread_cond_destroy(&ra->ready);
        json_tokener_free(ra->nopts.tok);
        free(ra->q);
        free(ra);
}

pb_readahead_t *pb_readahead_start(char *const *files, int nfiles, size_t max_doc,
                                   const char *source, const struct pb_privacy *privacy,
                                   char *errstr, size_t errsz)
{
        pb_readahead_t *ra = calloc(1, sizeof(*ra));
        if (ra)
                ra->q = calloc(PB_READAHEAD_DOCS, sizeof(*ra->q));
        if (!ra || !ra->q) {
                if (ra)
                        free(ra);
                pb_seterr(errstr, errsz, "out of memory");
                return NULL;
        }
        ra->files = files;
        ra->nfiles = nfiles;
        ra->max_doc = max_doc;
        ra->nopts.source = source;
        ra->nopts.privacy = privacy;
        ra->nopts.tok = json_tokener_new(); /* the reader's, reused */
        if (!ra->nopts.tok) {
                free(ra->q);
                free(ra);
                pb_seterr(errstr, errsz, "out of memory");
                return NULL;
        }
        pthread_mutex_init(&ra->lock, NULL);
        pb_cond_init(&ra->room);
        pb_cond_init(&ra->ready);
        if (pthread_create(&ra->thread, NULL, reader_main, ra)) {
                destroy(ra);
                pb_seterr(errstr, errsz, "cannot start the reader thread");
                return NULL;
        }
        return ra;
}

int pb_readahead_next(pb_readahead_t *ra, pb_ahead_doc_t *out, int timeout_ms)
{
        int64_t until = pb_mono_ms() + timeout_ms;
        pthread_mutex_lock(&ra->lock);
        while (ra->cnt == 0 && !ra->done && !ra->stop && pb_mono_ms() < until)
                pb_cond_timedwait_ms(&ra->ready, &ra->lock, until - pb_mono_ms());
        int got = ra->cnt > 0 && !ra->stop;
        if (!got && ra->cnt == 0 && !ra->done && !ra->stop) {
                pthread_mutex_unlock(&ra->lock);
                return -1;
        }
        if (got) {
                *out = ra->q[ra->head];
                ra->head = (ra->head + 1) % PB_READAHEAD_DOCS;
                ra->cnt--;
                ra->bytes -= out->len;
                if (ra->reader_waits && ra->cnt <= ROOM_BELOW &&
                    ra->bytes <= PB_READAHEAD_BYTES / 2)
                        pthread_cond_signal(&ra->room);
        }
        pthread_mutex_unlock(&ra->lock);
        return got;
}

void pb_readahead_stop(pb_readahead_t *ra)
{
        pthread_mutex_lock(&ra->lock);
        ra->stop = 1;
        pthread_cond_broadcast(&ra->room);
        pthread_cond_broadcast(&ra->ready);
        pthread_mutex_unlock(&ra->lock);
}

void pb_readahead_free(pb_readahead_t *ra)
{
        if (!ra)
                return;
        pb_readahead_stop(ra);
        int64_t until = pb_mono_ms() + 500;
        pthread_mutex_lock(&ra->lock);
        while (!ra->done && pb_mono_ms() < until)
                pb_cond_timedwait_ms(&ra->ready, &ra->lock, until - pb_mono_ms());
        int done = ra->done;
        pthread_mutex_unlock(&ra->lock);
        if (!done) {
                pthread_detach(ra->thread); /* blocked reading; ra stays for it */
                return;
        }
        pthread_join(ra->thread, NULL);
        for (size_t i = 0; i < ra->cnt; i++)
                pb_batch_free(ra->q[(ra->head + i) % PB_READAHEAD_DOCS].batch);
        destroy(ra);
}

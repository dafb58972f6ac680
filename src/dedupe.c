#include "dedupe.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "pb.h"

struct entry {
        pb_idnode_t node;            /* first: in d->ids by id */
        struct entry *older, *newer; /* age list */
        int64_t added_ms;
        uint64_t content; /* the event's content hash, 0 if unknown */
        char id[];
};

struct pb_dedupe {
        pthread_mutex_t lock;
        pb_idmap_t ids;
        size_t capacity;
        struct entry *oldest, *newest;
        int64_t ttl_ms;
        uint64_t evicted; /* forgotten for the capacity, not their age */
};

pb_dedupe_t *pb_dedupe_new(size_t capacity, int64_t ttl_ms)
{
        pb_dedupe_t *d = calloc(1, sizeof(*d));
        if (!d)
                return NULL;
        d->capacity = capacity;
        d->ttl_ms = ttl_ms;
        if (pb_idmap_init(&d->ids, offsetof(struct entry, id)) != 0) {
                free(d);
                return NULL;
        }
        pthread_mutex_init(&d->lock, NULL);
        return d;
}

static struct entry *find(pb_dedupe_t *d, const char *id)
{
        return (struct entry *)pb_idmap_get(&d->ids, id);
}

static void unlink_age(pb_dedupe_t *d, struct entry *e)
{
        if (e->older)
                e->older->newer = e->newer;
        else
                d->oldest = e->newer;
        if (e->newer)
                e->newer->older = e->older;
        else
                d->newest = e->older;
}

static void remove_entry(pb_dedupe_t *d, struct entry *e)
{
        pb_idmap_del(&d->ids, &e->node);
        unlink_age(d, e);
        free(e);
}

int pb_dedupe_seen(pb_dedupe_t *d, const char *id, int64_t now_ms)
{
        return pb_dedupe_seen_content(d, id, now_ms, 0) != 0;
}

int pb_dedupe_seen_content(pb_dedupe_t *d, const char *id, int64_t now_ms, uint64_t content)
{
        if (!d || d->capacity == 0)
                return 0;
        pthread_mutex_lock(&d->lock);
        struct entry *e = find(d, id);
        int seen = e && now_ms - e->added_ms < d->ttl_ms;
        if (seen && content && e->content && content != e->content)
                seen = 2;
        pthread_mutex_unlock(&d->lock);
        return seen;
}

void pb_dedupe_add(pb_dedupe_t *d, const char *id, int64_t now_ms)
{
        pb_dedupe_add_content(d, id, now_ms, 0);
}

void pb_dedupe_add_content(pb_dedupe_t *d, const char *id, int64_t now_ms, uint64_t content)
{
        if (!d || d->capacity == 0)
                return;
        pthread_mutex_lock(&d->lock);
        struct entry *e = find(d, id);
        if (e) {
                unlink_age(d, e);
        } else {
                while (d->ids.size >= d->capacity ||
                       (d->oldest && now_ms - d->oldest->added_ms >= d->ttl_ms)) {
                        if (d->ids.size >= d->capacity)
                                d->evicted++;
                        remove_entry(d, d->oldest);
                }
                size_t n = strlen(id);
                e = malloc(sizeof(*e) + n + 1);
                if (!e) {
                        pthread_mutex_unlock(&d->lock);
                        return;
                }
                memcpy(e->id, id, n + 1);
                e->content = 0;
                pb_idmap_add(&d->ids, &e->node);
        }
        e->added_ms = now_ms;
        if (content)
                e->content = content;
        e->newer = NULL;
        e->older = d->newest;
        if (d->newest)
                d->newest->newer = e;
        else
                d->oldest = e;
        d->newest = e;
        pthread_mutex_unlock(&d->lock);
}

size_t pb_dedupe_expire(pb_dedupe_t *d, int64_t cutoff_ms)
{
        if (!d || d->capacity == 0)
                return 0;
        size_t n = 0;
        pthread_mutex_lock(&d->lock);
        while (d->oldest && d->oldest->added_ms < cutoff_ms) {
                remove_entry(d, d->oldest);
                n++;
        }
        pthread_mutex_unlock(&d->lock);
        return n;
}

uint64_t pb_dedupe_evicted(pb_dedupe_t *d)
{
        if (!d)
                return 0;
        pthread_mutex_lock(&d->lock);
        uint64_t n = d->evicted;
        pthread_mutex_unlock(&d->lock);
        return n;
}

size_t pb_dedupe_size(pb_dedupe_t *d)
{
        if (!d)
                return 0;
        pthread_mutex_lock(&d->lock);
        size_t n = d->ids.size;
        pthread_mutex_unlock(&d->lock);
        return n;
}

void pb_dedupe_free(pb_dedupe_t *d)
{
        if (!d)
                return;
        struct entry *e = d->oldest;
        while (e) {
                struct entry *n = e->newer;
                free(e);
                e = n;
        }
        pb_idmap_destroy(&d->ids);
        pthread_mutex_destroy(&d->lock);
        free(d);
}

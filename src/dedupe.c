#include "dedupe.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"

struct entry {
        struct entry *chain;         /* bucket chain */
        struct entry *older, *newer; /* age list */
        int64_t added_ms;
        uint64_t content; /* the event's content hash, 0 if unknown */
        char id[];
};

struct pb_dedupe {
        pthread_mutex_t lock;
        struct entry **buckets;
        size_t nbuckets, size, capacity;
        struct entry *oldest, *newest;
        int64_t ttl_ms;
        uint64_t evicted; /* forgotten for the capacity, not their age */
};

static uint64_t hash(const char *s)
{
        return pb_fnv1a_str(s);
}

pb_dedupe_t *pb_dedupe_new(size_t capacity, int64_t ttl_ms)
{
        pb_dedupe_t *d = calloc(1, sizeof(*d));
        if (!d)
                return NULL;
        d->capacity = capacity;
        d->ttl_ms = ttl_ms;
        d->nbuckets = 1024; /* grows with the content, not the capacity */
        d->buckets = calloc(d->nbuckets, sizeof(struct entry *));
        if (!d->buckets) {
                free(d);
                return NULL;
        }
        pthread_mutex_init(&d->lock, NULL);
        return d;
}

static struct entry **find(pb_dedupe_t *d, const char *id)
{
        struct entry **pp = &d->buckets[hash(id) & (d->nbuckets - 1)];
        while (*pp && strcmp((*pp)->id, id) != 0)
                pp = &(*pp)->chain;
        return pp;
}

/* Doubles the bucket array when the table is full, so lookups stay O(1)
 * without reserving memory for the whole capacity up front. */
static void maybe_grow(pb_dedupe_t *d)
{
        if (d->size < d->nbuckets)
                return;
        size_t n = d->nbuckets * 2;
        struct entry **nb = calloc(n, sizeof(struct entry *));
        if (!nb)
                return; /* keep the old table: slower, still correct */
        for (size_t i = 0; i < d->nbuckets; i++) {
                struct entry *e = d->buckets[i];
                while (e) {
                        struct entry *next = e->chain;
                        size_t b = hash(e->id) & (n - 1);
                        e->chain = nb[b];
                        nb[b] = e;
                        e = next;
                }
        }
        free(d->buckets);
        d->buckets = nb;
        d->nbuckets = n;
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
        struct entry **pp = find(d, e->id);
        *pp = e->chain;
        unlink_age(d, e);
        d->size--;
        free(e);
}

/* Forgets the oldest entry (there is one). */
static void pop_oldest(pb_dedupe_t *d)
{
        struct entry *e = d->oldest;
        struct entry **pp = find(d, e->id);
        *pp = e->chain;
        d->oldest = e->newer;
        if (d->oldest)
                d->oldest->older = NULL;
        else
                d->newest = NULL;
        d->size--;
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
        struct entry *e = *find(d, id);
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
        struct entry *e = *find(d, id);
        if (e) {
                unlink_age(d, e);
        } else {
                while (d->size >= d->capacity ||
                       (d->oldest && now_ms - d->oldest->added_ms >= d->ttl_ms)) {
                        if (d->size >= d->capacity)
                                d->evicted++;
                        pop_oldest(d);
                }
                size_t n = strlen(id);
                e = malloc(sizeof(*e) + n + 1);
                if (!e) {
                        pthread_mutex_unlock(&d->lock);
                        return;
                }
                memcpy(e->id, id, n + 1);
                e->content = 0;
                maybe_grow(d);
                struct entry **pp = find(d, id);
                e->chain = NULL;
                *pp = e;
                d->size++;
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

void pb_dedupe_remove(pb_dedupe_t *d, const char *id)
{
        if (!d || d->capacity == 0)
                return;
        pthread_mutex_lock(&d->lock);
        struct entry *e = *find(d, id);
        if (e)
                remove_entry(d, e);
        pthread_mutex_unlock(&d->lock);
}

size_t pb_dedupe_expire(pb_dedupe_t *d, int64_t cutoff_ms)
{
        if (!d || d->capacity == 0)
                return 0;
        size_t n = 0;
        pthread_mutex_lock(&d->lock);
        while (d->oldest && d->oldest->added_ms < cutoff_ms) {
                pop_oldest(d);
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
        size_t n = d->size;
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
        free(d->buckets);
        pthread_mutex_destroy(&d->lock);
        free(d);
}

#include "idmap.h"

#include <stdlib.h>
#include <string.h>

#include "pb.h"

static const char *id_of(const pb_idmap_t *m, const pb_idnode_t *n)
{
        return (const char *)n + m->id_off;
}

int pb_idmap_init(pb_idmap_t *m, size_t id_off)
{
        m->nbuckets = 1024; /* grows with the content, not with a capacity */
        m->size = 0;
        m->id_off = id_off;
        m->buckets = calloc(m->nbuckets, sizeof(pb_idnode_t *));
        return m->buckets ? 0 : PB_ERR;
}

void pb_idmap_destroy(pb_idmap_t *m)
{
        free(m->buckets);
        m->buckets = NULL;
}

void pb_idmap_destroy_all(pb_idmap_t *m, void (*free_node)(pb_idnode_t *n))
{
        for (size_t b = 0; m->buckets && b < m->nbuckets; b++)
                for (pb_idnode_t *n = m->buckets[b], *next; n; n = next) {
                        next = n->chain;
                        if (free_node)
                                free_node(n);
                        else
                                free(n);
                }
        pb_idmap_destroy(m);
}

static pb_idnode_t **slot(const pb_idmap_t *m, const char *id)
{
        pb_idnode_t **pp = &m->buckets[pb_fnv1a_str(id) & (m->nbuckets - 1)];
        while (*pp && strcmp(id_of(m, *pp), id) != 0)
                pp = &(*pp)->chain;
        return pp;
}

pb_idnode_t *pb_idmap_get(const pb_idmap_t *m, const char *id)
{
        return *slot(m, id);
}

/* Doubles the buckets, so lookups stay O(1) without reserving memory for a
 * whole capacity up front; out of memory it keeps the old ones (slower,
 * still correct). */
static void grow(pb_idmap_t *m)
{
        size_t n = m->nbuckets * 2;
        pb_idnode_t **nb = calloc(n, sizeof(pb_idnode_t *));
        if (!nb)
                return;
        for (size_t i = 0; i < m->nbuckets; i++)
                for (pb_idnode_t *e = m->buckets[i], *next; e; e = next) {
                        next = e->chain;
                        size_t b = pb_fnv1a_str(id_of(m, e)) & (n - 1);
                        e->chain = nb[b];
                        nb[b] = e;
                }
        free(m->buckets);
        m->buckets = nb;
        m->nbuckets = n;
}

void pb_idmap_add(pb_idmap_t *m, pb_idnode_t *n)
{
        if (m->size >= m->nbuckets)
                grow(m);
        pb_idnode_t **pp = slot(m, id_of(m, n));
        n->chain = NULL;
        *pp = n;
        m->size++;
}

void pb_idmap_del(pb_idmap_t *m, pb_idnode_t *n)
{
        pb_idnode_t **pp = slot(m, id_of(m, n));
        if (*pp == n) {
                *pp = n->chain;
                m->size--;
        }
}

/* A hash table of string ids (FNV-1a, chained, doubling when it holds as
 * many nodes as buckets), intrusive: the node is the first member of the
 * caller's struct, whose NUL-terminated id lies id_off bytes after it. One
 * table for the dedupe window and the pipeline's in-flight map.
 * Ownership: the map owns its buckets (pb_idmap_init/pb_idmap_destroy); the
 * caller owns the nodes (pb_idmap_destroy_all frees them for it) and any
 * lock. */
#ifndef PB_IDMAP_H
#define PB_IDMAP_H

#include <stddef.h>

typedef struct pb_idnode {
        struct pb_idnode *chain;
} pb_idnode_t;

typedef struct pb_idmap {
        pb_idnode_t **buckets;
        size_t nbuckets, size, id_off;
} pb_idmap_t;

/* Prepares an empty map (1024 buckets); returns PB_ERR out of memory. */
int pb_idmap_init(pb_idmap_t *m, size_t id_off);

/* Frees the buckets, not the nodes. */
void pb_idmap_destroy(pb_idmap_t *m);

/* Frees every node (with free_node; NULL: free()), then the buckets: for a
 * map that owns its nodes. */
void pb_idmap_destroy_all(pb_idmap_t *m, void (*free_node)(pb_idnode_t *n));

/* The node holding id, or NULL. */
pb_idnode_t *pb_idmap_get(const pb_idmap_t *m, const char *id);

/* Adds n, whose id the map does not hold. */
void pb_idmap_add(pb_idmap_t *m, pb_idnode_t *n);

/* Removes n if the map holds it (a no-op otherwise). */
void pb_idmap_del(pb_idmap_t *m, pb_idnode_t *n);

#endif

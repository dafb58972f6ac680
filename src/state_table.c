#include "state_table.h"

#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "timefmt.h"

const char *const pb_portout_statuses[] = {"pending",          "authorized", "ported", "rejected",
                                           "rejected-pending", "canceled",   NULL};

struct entry {
        pb_idnode_t node;
        pb_portout_view_t v;
        int alerted; /* its pending threshold was logged */
        char *doc;   /* the resource's JSON while pending, or since it left (deadline events) */
        size_t doc_len;
        int64_t left_pending_us; /* it left pending then (Telnyx's clock); 0: not recently */
};

struct pb_stable {
        pb_idmap_t ids;
};

static const char *str_member(json_object *o, const char *k)
{
        json_object *v;
        if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int64_t time_member(json_object *o, const char *k)
{
        const char *s = str_member(o, k);
        int64_t us;
        return s && pb_time_parse_rfc3339(s, &us) == 0 ? us : 0;
}

int pb_portout_view(json_object *r, pb_portout_view_t *v, char *errstr, size_t errsz)
{
        memset(v, 0, sizeof(*v));
        if (!r || !json_object_is_type(r, json_type_object))
                return pb_seterr(errstr, errsz, "the port-out is not a JSON object");
        const char *id = str_member(r, "id"), *up = str_member(r, "updated_at");
        if (!id || !pb_telnyx_id_valid(id))
                return pb_seterr(errstr, errsz, "the port-out has no valid \"id\"");
        if (!up || pb_time_parse_rfc3339(up, &v->updated_us) != 0 || strlen(up) >= 40)
                return pb_seterr(errstr, errsz, "port-out %s: \"updated_at\" is not RFC 3339", id);
        snprintf(v->id, sizeof(v->id), "%s", id);
        snprintf(v->updated_at, sizeof(v->updated_at), "%s", up);
        const char *st = str_member(r, "status");
        snprintf(v->status, sizeof(v->status), "%s", st ? st : "");
        v->created_us = time_member(r, "created_at");
        if (!v->created_us)
                v->created_us = time_member(r, "inserted_at");
        v->foc_us = time_member(r, "foc_date");
        return 0;
}

int pb_portout_status_final(const char *s)
{
        return !strcmp(s, "ported") || !strcmp(s, "rejected") || !strcmp(s, "canceled");
}

pb_stable_t *pb_stable_new(void)
{
        pb_stable_t *t = calloc(1, sizeof(*t));
        if (t && pb_idmap_init(&t->ids, offsetof(struct entry, v.id))) {
                free(t);
                return NULL;
        }
        return t;
}

static void free_entry(pb_idnode_t *n)
{
        free(((struct entry *)n)->doc);
        free(n);
}

void pb_stable_free(pb_stable_t *t)
{
        if (!t)
                return;
        pb_idmap_destroy_all(&t->ids, free_entry);
        free(t);
}

int pb_stable_newer(const pb_stable_t *t, const pb_portout_view_t *v)
{
        const struct entry *e = (const struct entry *)pb_idmap_get(&t->ids, v->id);
        return !e || v->updated_us > e->v.updated_us;
}

int pb_stable_put_doc(pb_stable_t *t, const pb_portout_view_t *v, const char *doc, size_t len)
{
        struct entry *e = (struct entry *)pb_idmap_get(&t->ids, v->id);
        if (e && v->updated_us <= e->v.updated_us)
                return 0;
        int pending = !strcmp(v->status, "pending");
        /* Leaving pending now (the table held it pending), or left lately
         * and not yet forgotten: the doc stays for a late announcement. */
        int64_t left = pending                                ? 0
                       : e && !strcmp(e->v.status, "pending") ? v->updated_us
                       : e                                    ? e->left_pending_us
                                                              : 0;
        char *copy = NULL;
        if (doc && (pending || left)) {
                if (!(copy = malloc(len + 1)))
                        return PB_ERR;
                memcpy(copy, doc, len);
                copy[len] = '\0';
        }
        if (!e) {
                e = calloc(1, sizeof(*e));
                if (!e) {
                        free(copy);
                        return PB_ERR;
                }
                e->v = *v; /* its id first: the map hashes it */
                pb_idmap_add(&t->ids, &e->node);
        } else if (strcmp(e->v.status, v->status) != 0) {
                e->alerted = 0; /* pending again: a new review */
        }
        e->v = *v;
        e->left_pending_us = left;
        free(e->doc);
        e->doc = copy;
        e->doc_len = copy ? len : 0;
        return 1;
}

int pb_stable_wants_doc(const pb_stable_t *t, const pb_portout_view_t *v)
{
        if (!strcmp(v->status, "pending"))
                return 1;
        const struct entry *e = (const struct entry *)pb_idmap_get(&t->ids, v->id);
        return e && v->updated_us > e->v.updated_us &&
               (!strcmp(e->v.status, "pending") || e->left_pending_us);
}

size_t pb_stable_forget_departures(pb_stable_t *t, int64_t before_us)
{
        size_t n = 0;
        for (size_t b = 0; b < t->ids.nbuckets; b++)
                for (pb_idnode_t *nd = t->ids.buckets[b]; nd; nd = nd->chain) {
                        struct entry *e = (struct entry *)nd;
                        if (e->left_pending_us && e->left_pending_us < before_us) {
                                e->left_pending_us = 0;
                                free(e->doc);
                                e->doc = NULL;
                                e->doc_len = 0;
                                n++;
                        }
                }
        return n;
}

int pb_stable_put(pb_stable_t *t, const pb_portout_view_t *v)
{
        return pb_stable_put_doc(t, v, NULL, 0);
}

size_t pb_stable_size(const pb_stable_t *t)
{
        return t->ids.size;
}

void pb_stable_each(const pb_stable_t *t,
                    void (*fn)(void *ctx, const pb_portout_view_t *v, int64_t left_pending_us,
                               const char *doc, size_t len),
                    void *ctx)
{
        for (size_t b = 0; b < t->ids.nbuckets; b++)
                for (const pb_idnode_t *n = t->ids.buckets[b]; n; n = n->chain) {
                        const struct entry *e = (const struct entry *)n;
                        fn(ctx, &e->v, e->left_pending_us, e->doc, e->doc_len);
                }
}

static size_t status_index(const char *s)
{
        size_t i = 0;
        for (; pb_portout_statuses[i]; i++)
                if (!strcmp(pb_portout_statuses[i], s))
                        return i;
        return 7;
}

void pb_stable_deadlines(pb_stable_t *t, int64_t now_us, int64_t threshold_us,
                         pb_stable_deadlines_t *out,
                         void (*crossed)(void *ctx, const pb_portout_view_t *v, int64_t age_us),
                         void *ctx)
{
        memset(out, 0, sizeof(*out));
        out->nearest_foc_us = INT64_MAX;
        for (size_t b = 0; b < t->ids.nbuckets; b++)
                for (pb_idnode_t *n = t->ids.buckets[b]; n; n = n->chain) {
                        struct entry *e = (struct entry *)n;
                        const pb_portout_view_t *v = &e->v;
                        out->by_status[status_index(v->status)]++;
                        int pending = !strcmp(v->status, "pending");
                        if (pending && v->created_us) {
                                int64_t age = now_us - v->created_us;
                                if (age > out->oldest_pending_us)
                                        out->oldest_pending_us = age;
                                if (threshold_us > 0 && age > threshold_us) {
                                        out->over_threshold++;
                                        if (!e->alerted && crossed)
                                                crossed(ctx, v, age);
                                        e->alerted = 1;
                                }
                        }
                        /* Not yet authorized: a FOC date coming is a deadline. */
                        if ((pending || !strcmp(v->status, "rejected-pending")) && v->foc_us &&
                            v->foc_us - now_us < out->nearest_foc_us)
                                out->nearest_foc_us = v->foc_us - now_us;
                }
}

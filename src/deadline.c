#include "deadline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "pb.h"

#define MAX_THRESHOLD_S 604800

int pb_deadline_thresholds_parse(const char *text, int64_t *out, size_t max, size_t *n,
                                 char *errstr, size_t errsz)
{
        *n = 0;
        for (const char *s = text ? text : ""; *s;) {
                s += strspn(s, " ,");
                if (!*s)
                        break;
                char *end;
                errno = 0;
                long long v = strtoll(s, &end, 10);
                if (end == s || errno || !strchr(" ,", *end) || v < 1 || v > MAX_THRESHOLD_S)
                        /* by position: the value may be anything */
                        return pb_seterr(errstr, errsz,
                                         "item %zu is not a number of seconds from 1 to %d", *n + 1,
                                         MAX_THRESHOLD_S);
                if (*n == max)
                        return pb_seterr(errstr, errsz, "more than %zu thresholds", max);
                size_t i = *n;
                for (; i > 0 && out[i - 1] > v; i--)
                        out[i] = out[i - 1];
                if (i > 0 && out[i - 1] == v)
                        return pb_seterr(errstr, errsz, "%lld is given twice", v);
                out[i] = v;
                (*n)++;
                s = end;
        }
        if (!*n)
                return pb_seterr(errstr, errsz, "no threshold");
        return 0;
}

void pb_deadline_id(const char *portout_id, int64_t threshold_s, char *out)
{
        snprintf(out, PB_DEADLINE_ID_MAX + 1, "%.*s@deadline-%" PRId64 "s", PB_TELNYX_ID_MAX,
                 portout_id, threshold_s);
}

int pb_deadline_id_parse(const char *id, char *portout_id, int64_t *threshold_s)
{
        const char *at = strstr(id, "@deadline-");
        size_t n = at ? (size_t)(at - id) : 0;
        if (!at || n == 0 || n > PB_TELNYX_ID_MAX)
                return PB_ERR;
        const char *d = at + strlen("@deadline-");
        char *end;
        errno = 0;
        long long v = strtoll(d, &end, 10);
        if (end == d || *d < '1' || *d > '9' || errno || strcmp(end, "s") != 0 || v < 1 ||
            v > MAX_THRESHOLD_S)
                return PB_ERR;
        memcpy(portout_id, id, n);
        portout_id[n] = '\0';
        if (!pb_telnyx_id_valid(portout_id))
                return PB_ERR;
        *threshold_s = v;
        return 0;
}

struct mark {
        pb_idnode_t node;
        char id[PB_DEADLINE_ID_MAX + 1];
};

struct pb_deadlines {
        pb_idmap_t ids;
};

pb_deadlines_t *pb_deadlines_new(void)
{
        pb_deadlines_t *d = calloc(1, sizeof(*d));
        if (d && pb_idmap_init(&d->ids, offsetof(struct mark, id))) {
                free(d);
                return NULL;
        }
        return d;
}

void pb_deadlines_free(pb_deadlines_t *d)
{
        if (!d)
                return;
        pb_idmap_destroy_all(&d->ids, NULL);
        free(d);
}

int pb_deadlines_mark(pb_deadlines_t *d, const char *portout_id, int64_t threshold_s)
{
        char id[PB_DEADLINE_ID_MAX + 1];
        pb_deadline_id(portout_id, threshold_s, id);
        if (pb_idmap_get(&d->ids, id))
                return 0;
        struct mark *m = calloc(1, sizeof(*m));
        if (!m)
                return PB_ERR;
        memcpy(m->id, id, strlen(id) + 1);
        pb_idmap_add(&d->ids, &m->node);
        return 1;
}

int pb_deadlines_announced(const pb_deadlines_t *d, const char *portout_id, int64_t threshold_s)
{
        char id[PB_DEADLINE_ID_MAX + 1];
        pb_deadline_id(portout_id, threshold_s, id);
        return pb_idmap_get(&d->ids, id) != NULL;
}

size_t pb_deadlines_size(const pb_deadlines_t *d)
{
        return d->ids.size;
}

struct scan {
        const pb_deadlines_t *d;
        const int64_t *thr;
        size_t nthr, max, due;
        int64_t now_us;
        pb_deadline_due_t *out;
};

/* Keeps out[] the earliest crossings, sorted (insertion: max is small and a
 * scan finds few due, all of them only after a long absence). */
static void keep(struct scan *sc, const pb_portout_view_t *v, const char *doc, size_t len,
                 int64_t thr)
{
        size_t held = sc->due < sc->max ? sc->due : sc->max;
        int64_t at = v->created_us + thr * 1000000;
        sc->due++;
        size_t i = held;
        while (i > 0 && sc->out[i - 1].v.created_us + sc->out[i - 1].threshold_s * 1000000 > at)
                i--;
        if (i == sc->max)
                return;
        if (held == sc->max) /* the latest crossing falls out */
                free(sc->out[sc->max - 1].doc);
        size_t last = held < sc->max ? held : sc->max - 1;
        memmove(&sc->out[i + 1], &sc->out[i], (last - i) * sizeof(sc->out[0]));
        pb_deadline_due_t *o = &sc->out[i];
        o->v = *v;
        o->threshold_s = thr;
        o->age_us = sc->now_us - v->created_us;
        o->doc = doc ? malloc(len + 1) : NULL;
        o->doc_len = o->doc ? len : 0;
        if (o->doc) {
                memcpy(o->doc, doc, len);
                o->doc[len] = '\0';
        }
}

static void look(void *ctx, const pb_portout_view_t *v, int64_t left_pending_us, const char *doc,
                 size_t len)
{
        struct scan *sc = ctx;
        if (!v->created_us)
                return;
        /* Pending: its age now. Left pending lately: its age when it left
         * (a threshold it crossed while pending is still owed). */
        int64_t until = !strcmp(v->status, "pending") ? sc->now_us : left_pending_us;
        if (!until)
                return;
        int64_t age = until - v->created_us;
        for (size_t i = 0; i < sc->nthr && age >= sc->thr[i] * 1000000; i++)
                if (!pb_deadlines_announced(sc->d, v->id, sc->thr[i]))
                        keep(sc, v, doc, len, sc->thr[i]);
}

size_t pb_deadlines_due(const pb_deadlines_t *d, const pb_stable_t *t, const int64_t *thresholds_s,
                        size_t nthresholds, int64_t now_us, pb_deadline_due_t *out, size_t max,
                        size_t *filled)
{
        struct scan sc = {d, thresholds_s, nthresholds, max, 0, now_us, out};
        pb_stable_each(t, look, &sc);
        *filled = sc.due < max ? sc.due : max;
        return sc.due;
}

void pb_deadlines_due_clear(pb_deadline_due_t *out, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(out[i].doc);
                out[i].doc = NULL;
        }
}

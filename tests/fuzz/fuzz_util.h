/* Invariants shared by the fuzz targets (header-only: each target is one
 * translation unit). */
#ifndef PB_FUZZ_UTIL_H
#define PB_FUZZ_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "jsoncheck.h"
#include "normalize.h"

/* The number tokens of a JSON text (outside strings), each as a pointer and
 * length into it; returns how many (at most max). */
static size_t fz_numbers(const char *s, size_t n, const char **tok, size_t *len, size_t max)
{
        size_t k = 0;
        for (size_t i = 0; i < n && k < max;) {
                char c = s[i];
                if (c == '"') {
                        for (i++; i < n && s[i] != '"'; i++)
                                if (s[i] == '\\')
                                        i++;
                        i++;
                } else if (c == '-' || (c >= '0' && c <= '9')) {
                        size_t b = i;
                        while (i < n && (strchr("+-.eE", s[i]) || (s[i] >= '0' && s[i] <= '9')))
                                i++;
                        tok[k] = s + b;
                        len[k++] = i - b;
                } else {
                        i++;
                }
        }
        return k;
}

/* Aborts unless what the bridge wrote is strict JSON in UTF-8 (the scanner
 * the bridge trusts its input to), and unless every number in it is, as
 * text, one of the input's: a number is published exactly as sent. */
static void fz_check_output(const char *in, size_t in_len, const char *out, size_t out_len)
{
        pb_jcheck_t jc;
        memset(&jc, 0, sizeof(jc));
        if (pb_json_check(out, out_len, &jc) != 0)
                abort();
        enum { MAXN = 512 };
        static const char *a[MAXN], *b[MAXN];
        static size_t al[MAXN], bl[MAXN];
        size_t na = fz_numbers(in, in_len, a, al, MAXN);
        size_t nb = fz_numbers(out, out_len, b, bl, MAXN);
        if (na == MAXN || nb == MAXN)
                return; /* too many to compare cheaply */
        for (size_t i = 0; i < nb; i++) {
                int found = 0;
                for (size_t j = 0; j < na && !found; j++)
                        found = al[j] == bl[i] && memcmp(a[j], b[i], bl[i]) == 0;
                if (!found)
                        abort(); /* a number the input did not hold */
        }
}

static int fz_same_str(const char *a, const char *b)
{
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Aborts unless two batches hold the same items, byte for byte: envelopes,
 * dead-letter bytes, and their reasons if reasons is set. */
static void fz_same_items(const pb_batch_t *a, const pb_batch_t *t, int reasons)
{
        if (a->cnt != t->cnt || a->rejected != t->rejected)
                abort();
        for (size_t i = 0; i < a->cnt; i++) {
                const pb_norm_item_t *x = &a->items[i], *y = &t->items[i];
                if ((reasons && !fz_same_str(x->error, y->error)) ||
                    (x->error == NULL) != (y->error == NULL) || x->raw_len != y->raw_len ||
                    memcmp(x->raw, y->raw, x->raw_len) != 0 || x->redacted != y->redacted ||
                    (x->env == NULL) != (y->env == NULL))
                        abort();
                if (!x->env)
                        continue;
                const pb_envelope_t *e = x->env, *f = y->env;
                if (e->json_len != f->json_len || memcmp(e->json, f->json, e->json_len) != 0 ||
                    e->data_off != f->data_off || e->data_len != f->data_len ||
                    e->payload_hash != f->payload_hash || e->created_us != f->created_us ||
                    !fz_same_str(e->id, f->id) || !fz_same_str(e->type, f->type) ||
                    !fz_same_str(e->event_type, f->event_type) ||
                    !fz_same_str(e->portout_id, f->portout_id) || !fz_same_str(e->time, f->time) ||
                    !fz_same_str(e->received, f->received) || !fz_same_str(e->ingest, f->ingest))
                        abort();
        }
}

#endif

/* Invariants shared by the fuzz targets (header-only: each target is one
 * translation unit). */
#ifndef PB_FUZZ_UTIL_H
#define PB_FUZZ_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "jsoncheck.h"

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

#endif

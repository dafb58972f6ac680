#include "jsoncheck.h"

#include <json-c/json.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One container being read: an array (its element count) or an object (the
 * member whose value is being read, and where its names start in names[]). */
struct frame {
        int is_array;
        size_t index;
        size_t name_off, name_len; /* in buf; name_plain: no escapes, printable */
        int name_plain;
        size_t names_start;
};

/* A member name: its bytes in buf, or decoded (it had escapes) in arena. */
struct name {
        size_t off, len, at;
        int in_arena;
};

struct nref {
        const char *p;
        size_t len, at;
};

struct scan {
        const unsigned char *s;
        size_t len, pos;
        pb_jcheck_t *jc;
        int problem, outside; /* a problem found; one outside the items */
        int in_item;
        struct frame fr[PB_JSON_MAX_DEPTH + 1];
        int depth;
        struct name *names;
        size_t nn, ncap;
        char *arena;
        size_t alen, acap;
        struct nref *refs;
        size_t rcap;
        size_t icap;
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
        if (need <= *cap)
                return 0;
        size_t nc = *cap ? *cap * 2 : 16;
        while (nc < need)
                nc *= 2;
        void *np = realloc(*p, nc * elem);
        if (!np)
                return -1;
        *p = np;
        *cap = nc;
        return 0;
}

/* The path of the value being read, as the normalizer names fields:
 * "data.payload.m[1]"; a name that is not plain printable ASCII shows as "?". */
static void path_of(const struct scan *sc, char *out, size_t outsz)
{
        size_t n = 0;
        out[0] = '\0';
        for (int d = 1; d <= sc->depth && n + 1 < outsz; d++) {
                const struct frame *f = &sc->fr[d];
                int w;
                if (f->is_array)
                        w = snprintf(out + n, outsz - n, "[%zu]", f->index);
                else if (f->name_plain && f->name_len <= 64)
                        w = snprintf(out + n, outsz - n, "%s%.*s", n ? "." : "", (int)f->name_len,
                                     (const char *)sc->s + f->name_off);
                else
                        w = snprintf(out + n, outsz - n, "%s?", n ? "." : "");
                if (w < 0)
                        break;
                n += (size_t)w < outsz - n ? (size_t)w : outsz - n - 1;
        }
}

/* Records a problem that leaves the syntax readable: the scan goes on, so
 * every bad element of a list is found. The first one is reported. */
static void problem(struct scan *sc, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(struct scan *sc, size_t at, const char *fmt, ...)
{
        if (sc->in_item && sc->jc->items)
                sc->jc->items[sc->jc->nitems - 1].bad = 1;
        else
                sc->outside = 1;
        if (sc->problem)
                return;
        sc->problem = 1;
        char path[120], what[120];
        path_of(sc, path, sizeof(path));
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        sc->jc->err_off = at;
        if (path[0])
                snprintf(sc->jc->why, sizeof(sc->jc->why), "field \"%s\" %s (byte %zu)", path, what,
                         at);
        else
                snprintf(sc->jc->why, sizeof(sc->jc->why), "the document %s (byte %zu)", what, at);
}

/* Syntax json-c would refuse too: the scan stops. */
static int fatal(struct scan *sc, const char *what)
{
        if (sc->pos >= sc->len)
                sc->jc->truncated = 1;
        sc->jc->err_off = sc->pos;
        snprintf(sc->jc->why, sizeof(sc->jc->why), "not JSON: %s at byte %zu", what, sc->pos);
        return -1;
}

static void ws(struct scan *sc)
{
        while (sc->pos < sc->len) {
                unsigned char c = sc->s[sc->pos];
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
                        break;
                sc->pos++;
        }
}

/* Length of the valid UTF-8 sequence at s[0..n), 0 if there is none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
        unsigned char c = s[0];
        size_t len = c >= 0xC2 && c <= 0xDF   ? 2
                     : c >= 0xE0 && c <= 0xEF ? 3
                     : c >= 0xF0 && c <= 0xF4 ? 4
                                              : 0;
        if (!len || len > n)
                return 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c == 0xE0)
                lo = 0xA0; /* overlong */
        else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        else if (c == 0xF0)
                lo = 0x90; /* overlong */
        else if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t k = 2; k < len; k++)
                if (s[k] < 0x80 || s[k] > 0xBF)
                        return 0;
        return len;
}

int pb_utf8_valid(const char *str, size_t n)
{
        const unsigned char *s = (const unsigned char *)str;
        size_t i = 0;
        while (i < n) {
                uint64_t w; /* ASCII eight bytes at a time: nearly every string is */
                while (i + 8 <= n &&
                       (memcpy(&w, s + i, 8), (w & UINT64_C(0x8080808080808080)) == 0))
                        i += 8;
                if (i >= n)
                        break;
                if (s[i] < 0x80) {
                        i++;
                        continue;
                }
                size_t l = utf8_seq(s + i, n - i);
                if (!l)
                        return 0;
                i += l;
        }
        return 1;
}

static int hex4(const unsigned char *p, unsigned *out)
{
        unsigned v = 0;
        for (int i = 0; i < 4; i++) {
                unsigned char c = p[i];
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (unsigned)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (unsigned)(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (unsigned)(c - 'A' + 10);
                else
                        return -1;
        }
        *out = v;
        return 0;
}

static char *arena_put(struct scan *sc, size_t n)
{
        if (grow((void **)&sc->arena, &sc->acap, sc->alen + n + 1, 1)) /* never NULL */
                return NULL;
        char *p = sc->arena + sc->alen;
        sc->alen += n;
        return p;
}

/* Appends code point cp to the arena as UTF-8 (a name's decoded form, only
 * compared, so a lone surrogate may go in as its three bytes). */
static int arena_cp(struct scan *sc, unsigned cp)
{
        char *o = arena_put(sc, cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);
        if (!o)
                return -1;
        if (cp < 0x80) {
                o[0] = (char)cp;
        } else if (cp < 0x800) {
                o[0] = (char)(0xC0 | (cp >> 6));
                o[1] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
                o[0] = (char)(0xE0 | (cp >> 12));
                o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                o[2] = (char)(0x80 | (cp & 0x3F));
        } else {
                o[0] = (char)(0xF0 | (cp >> 18));
                o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
                o[3] = (char)(0x80 | (cp & 0x3F));
        }
        return 0;
}

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

size_t pb_json_plain_words(const char *s, size_t n, int high)
{
        /* Hacker's Delight's zero-byte test on w, w ^ '"' and w ^ '\\', and
         * its less-than test for 0x20: exact for "none", the only answer
         * used. Strings are most of a document: this loop was the check's
         * largest cost, and writing strings the writer's. */
        uint64_t hi = high ? HIGHS : 0;
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
                uint64_t w, q, b;
                memcpy(&w, s + i, 8);
                q = w ^ (ONES * '"');
                b = w ^ (ONES * '\\');
                if ((((q - ONES) & ~q) | ((b - ONES) & ~b) | ((w - ONES * 0x20) & ~w) | (w & hi)) &
                    HIGHS)
                        break;
        }
        return i;
}

/* How many bytes at s are printable ASCII other than '"' and '\\' (what a
 * string holds as it is). */
static size_t plain_run(const unsigned char *s, size_t n)
{
        size_t i = pb_json_plain_words((const char *)s, n, 1);
        while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
                i++;
        return i;
}

/* A string at pos (its opening quote). A member name (nm) is recorded for
 * the duplicate check, decoded if it has escapes. */
static int string(struct scan *sc, struct name *nm)
{
        const unsigned char *s = sc->s;
        size_t start = ++sc->pos, astart = sc->alen, seg = start;
        int escaped = 0;
        for (;;) {
                sc->pos += plain_run(s + sc->pos, sc->len - sc->pos);
                if (sc->pos >= sc->len)
                        return fatal(sc, "unterminated string");
                unsigned char c = s[sc->pos];
                if (c == '"')
                        break;
                if (c < 0x20) {
                        problem(sc, sc->pos, "has an unescaped control character");
                        sc->pos++;
                        continue;
                }
                if (c >= 0x80) {
                        size_t l = utf8_seq(s + sc->pos, sc->len - sc->pos);
                        if (!l) {
                                problem(sc, sc->pos, "is not valid UTF-8");
                                l = 1;
                        }
                        sc->pos += l;
                        continue;
                }
                /* A backslash: a name is decoded from here on, so it compares
                 * equal to the same name written without escapes. */
                if (nm) {
                        char *o = arena_put(sc, sc->pos - seg);
                        if (!o)
                                return fatal(sc, "out of memory");
                        memcpy(o, s + seg, sc->pos - seg);
                }
                escaped = 1;
                if (sc->pos + 1 >= sc->len)
                        return fatal(sc, "unterminated string");
                unsigned char e = s[sc->pos + 1];
                const char *simple = e ? strchr("\"\\/bfnrt", e) : NULL;
                unsigned cp, lo;
                size_t at = sc->pos;
                if (simple) {
                        static const char dec[] = "\"\\/\b\f\n\r\t";
                        cp = (unsigned char)dec[simple - "\"\\/bfnrt"];
                        sc->pos += 2;
                } else {
                        if (e != 'u' || sc->pos + 6 > sc->len || hex4(s + sc->pos + 2, &cp))
                                return fatal(sc, "a bad escape in a string");
                        sc->pos += 6;
                        if (cp >= 0xD800 && cp <= 0xDBFF && sc->pos + 6 <= sc->len &&
                            s[sc->pos] == '\\' && s[sc->pos + 1] == 'u' &&
                            !hex4(s + sc->pos + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                sc->pos += 6;
                        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                                /* json-c would write U+FFFD in its place. */
                                problem(sc, at, "has a lone surrogate escape (\\u%04x)", cp);
                        }
                }
                /* json-c keys are C strings: "id\u0000" would be "id" to it,
                 * a second "id" the duplicate rule above never saw. */
                if (nm && cp == 0)
                        problem(sc, at, "has a member name holding U+0000");
                if (nm && arena_cp(sc, cp))
                        return fatal(sc, "out of memory");
                seg = sc->pos;
        }
        if (nm) {
                if (escaped) {
                        char *o = arena_put(sc, sc->pos - seg);
                        if (!o)
                                return fatal(sc, "out of memory");
                        memcpy(o, s + seg, sc->pos - seg);
                        nm->off = astart;
                        nm->len = sc->alen - astart;
                        nm->in_arena = 1;
                } else {
                        nm->off = start;
                        nm->len = sc->pos - start;
                        nm->in_arena = 0;
                }
        }
        sc->pos++; /* the closing quote */
        return 0;
}

static int digits(struct scan *sc)
{
        size_t p0 = sc->pos;
        while (sc->pos < sc->len && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9')
                sc->pos++;
        return sc->pos > p0 ? 0 : -1;
}

/* A number: json-c keeps a fraction's or an exponent's text as it was, but
 * reads an integer into 64 bits, so one beyond them, and -0, would come out
 * changed. */
static int number(struct scan *sc)
{
        size_t at = sc->pos;
        int neg = sc->s[sc->pos] == '-';
        if (neg)
                sc->pos++;
        size_t ip = sc->pos;
        if (sc->pos < sc->len && sc->s[sc->pos] == '0')
                sc->pos++;
        else if (digits(sc))
                return fatal(sc, "a bad number");
        size_t il = sc->pos - ip;
        int integer = 1;
        if (sc->pos < sc->len && sc->s[sc->pos] == '.') {
                sc->pos++;
                integer = 0;
                if (digits(sc))
                        return fatal(sc, "a bad number");
        }
        if (sc->pos < sc->len && (sc->s[sc->pos] == 'e' || sc->s[sc->pos] == 'E')) {
                sc->pos++;
                integer = 0;
                if (sc->pos < sc->len && (sc->s[sc->pos] == '+' || sc->s[sc->pos] == '-'))
                        sc->pos++;
                if (digits(sc))
                        return fatal(sc, "a bad number");
        }
        if (!integer)
                return 0;
        const char *d = (const char *)sc->s + ip;
        if (neg && il == 1 && d[0] == '0') {
                problem(sc, at, "is -0, which would be published as 0");
                return 0;
        }
        const char *lim = neg ? "9223372036854775808" : "18446744073709551615";
        size_t ll = strlen(lim);
        if (il > ll || (il == ll && memcmp(d, lim, ll) > 0))
                problem(sc, at,
                        "is an integer beyond 64 bits, which would not be published as sent");
        return 0;
}

/* A bare word: true, false, null. NaN and Infinity, which json-c reads
 * (and would write back), are a problem; anything else is not JSON. */
static int word(struct scan *sc)
{
        size_t at = sc->pos;
        if (sc->s[sc->pos] == '-')
                sc->pos++;
        while (sc->pos < sc->len && (sc->s[sc->pos] | 0x20) >= 'a' &&
               (sc->s[sc->pos] | 0x20) <= 'z')
                sc->pos++;
        size_t n = sc->pos - at;
        const char *w = (const char *)sc->s + at;
        if ((n == 4 && !memcmp(w, "true", 4)) || (n == 5 && !memcmp(w, "false", 5)) ||
            (n == 4 && !memcmp(w, "null", 4)))
                return 0;
        const char *b = w[0] == '-' ? w + 1 : w;
        size_t bn = w[0] == '-' ? n - 1 : n;
        if ((bn == 3 && (!strncasecmp(b, "nan", 3) || !strncasecmp(b, "inf", 3))) ||
            (bn == 8 && !strncasecmp(b, "infinity", 8))) {
                problem(sc, at, "is not a finite number (%.*s is not JSON)", (int)n, w);
                return 0;
        }
        if (sc->pos >= sc->len)
                sc->jc->truncated = 1; /* a word cut by the end: "nu" */
        sc->pos = at;
        return fatal(sc, "an unexpected character");
}

static int names_cmp(const void *a, const void *b)
{
        const struct nref *x = a, *y = b;
        size_t n = x->len < y->len ? x->len : y->len;
        int c = memcmp(x->p, y->p, n);
        return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* At an object's end: are its names unique? */
static int check_names(struct scan *sc, size_t from)
{
        size_t n = sc->nn - from;
        if (n < 2)
                return 0;
        if (grow((void **)&sc->refs, &sc->rcap, n, sizeof(*sc->refs)))
                return fatal(sc, "out of memory");
        for (size_t i = 0; i < n; i++) {
                const struct name *nm = &sc->names[from + i];
                sc->refs[i].p = nm->in_arena ? sc->arena + nm->off : (const char *)sc->s + nm->off;
                sc->refs[i].len = nm->len;
                sc->refs[i].at = nm->at;
        }
        const struct nref *dup = NULL;
        if (n <= 8) {
                for (size_t i = 1; i < n && !dup; i++)
                        for (size_t j = 0; j < i && !dup; j++)
                                if (!names_cmp(&sc->refs[i], &sc->refs[j]))
                                        dup = &sc->refs[i];
        } else {
                qsort(sc->refs, n, sizeof(*sc->refs), names_cmp);
                for (size_t i = 1; i < n && !dup; i++)
                        if (!names_cmp(&sc->refs[i], &sc->refs[i - 1]))
                                dup = sc->refs[i].at > sc->refs[i - 1].at ? &sc->refs[i]
                                                                          : &sc->refs[i - 1];
        }
        if (dup) {
                int plain = dup->len <= 64;
                for (size_t i = 0; i < dup->len && plain; i++)
                        plain = dup->p[i] >= 0x20 && dup->p[i] < 0x7f && dup->p[i] != '"' &&
                                dup->p[i] != '\\';
                sc->depth--; /* the object's own path, not its last member's */
                problem(sc, dup->at, "has the member \"%.*s\" more than once",
                        plain ? (int)dup->len : 1, plain ? dup->p : "?");
                sc->depth++;
        }
        return 0;
}

static int value(struct scan *sc);

static int container(struct scan *sc, int is_array)
{
        if (sc->depth >= PB_JSON_MAX_DEPTH)
                return fatal(sc, "nesting too deep");
        sc->jc->containers++;
        struct frame *f = &sc->fr[++sc->depth];
        if (sc->depth > sc->jc->depth_max)
                sc->jc->depth_max = sc->depth;
        memset(f, 0, sizeof(*f));
        f->is_array = is_array;
        f->names_start = sc->nn;
        size_t arena_mark = sc->alen;
        /* The root object's "data" array: a list response, whose elements
         * are judged one by one. */
        int items = is_array && sc->jc->want_items && sc->depth == 2 && !sc->fr[1].is_array &&
                    sc->fr[1].name_plain && sc->fr[1].name_len == 4 &&
                    !memcmp(sc->s + sc->fr[1].name_off, "data", 4);
        if (items) {
                free(sc->jc->items);
                sc->jc->items = NULL;
                sc->jc->nitems = 0;
                sc->jc->items_ok = 0; /* a second "data" array starts over */
                sc->icap = 0;
        }
        sc->pos++;
        ws(sc);
        unsigned char close = is_array ? (unsigned char)']' : (unsigned char)'}';
        if (sc->pos < sc->len && sc->s[sc->pos] == close) {
                sc->pos++;
                sc->depth--;
                if (items)
                        sc->jc->items_ok = 1;
                return 0;
        }
        for (;;) {
                ws(sc);
                if (!is_array) {
                        if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
                                return fatal(sc, "expected a member name");
                        if (grow((void **)&sc->names, &sc->ncap, sc->nn + 1, sizeof(*sc->names)))
                                return fatal(sc, "out of memory");
                        struct name *nm = &sc->names[sc->nn];
                        nm->at = sc->pos;
                        /* A problem in a name belongs to its object, not to
                         * the member before it. */
                        sc->depth--;
                        int rc = string(sc, nm);
                        sc->depth++;
                        if (rc)
                                return -1;
                        sc->nn++;
                        f->name_plain = !nm->in_arena;
                        f->name_off = nm->off;
                        f->name_len = nm->len;
                        for (size_t i = 0; i < nm->len && f->name_plain; i++) {
                                unsigned char c = sc->s[nm->off + i];
                                f->name_plain = c >= 0x20 && c < 0x7f;
                        }
                        ws(sc);
                        if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
                                return fatal(sc, "expected ':'");
                        sc->pos++;
                        ws(sc);
                }
                size_t vstart = sc->pos;
                if (items) {
                        if (grow((void **)&sc->jc->items, &sc->icap, sc->jc->nitems + 1,
                                 sizeof(*sc->jc->items)))
                                return fatal(sc, "out of memory");
                        pb_jitem_t *it = &sc->jc->items[sc->jc->nitems++];
                        it->off = vstart;
                        it->len = 0;
                        it->bad = 0;
                        sc->in_item = 1;
                }
                if (value(sc))
                        return -1;
                if (is_array)
                        sc->jc->elements++;
                else
                        sc->jc->members++;
                if (items) {
                        sc->jc->items[sc->jc->nitems - 1].len = sc->pos - vstart;
                        sc->in_item = 0;
                }
                ws(sc);
                if (sc->pos >= sc->len)
                        return fatal(sc, "the document ends early");
                if (sc->s[sc->pos] == ',') {
                        sc->pos++;
                        f->index++;
                        continue;
                }
                if (sc->s[sc->pos] != close)
                        return fatal(sc, is_array ? "expected ',' or ']'" : "expected ',' or '}'");
                sc->pos++;
                break;
        }
        if (!is_array && check_names(sc, f->names_start))
                return -1;
        sc->nn = f->names_start;
        sc->alen = arena_mark;
        sc->depth--;
        if (items)
                sc->jc->items_ok = 1;
        return 0;
}

static int value(struct scan *sc)
{
        if (sc->pos >= sc->len)
                return fatal(sc, "the document ends early");
        unsigned char c = sc->s[sc->pos];
        if (c == '{' || c == '[')
                return container(sc, c == '[');
        if (c == '"')
                return string(sc, NULL);
        if (c == '-' && sc->pos + 1 < sc->len &&
            !(sc->s[sc->pos + 1] >= '0' && sc->s[sc->pos + 1] <= '9'))
                return word(sc);
        if (c == '-' || (c >= '0' && c <= '9'))
                return number(sc);
        return word(sc);
}

int pb_json_check(const char *buf, size_t len, pb_jcheck_t *jc)
{
        struct scan sc;
        memset(&sc, 0, sizeof(sc));
        sc.s = (const unsigned char *)buf;
        sc.len = len;
        sc.jc = jc;
        jc->err_off = 0;
        jc->why[0] = '\0';
        jc->items = NULL;
        jc->nitems = 0;
        jc->items_ok = 0;
        jc->containers = jc->members = jc->elements = 0;
        jc->truncated = 0;
        jc->depth_max = 0;
        ws(&sc);
        int rc = value(&sc);
        if (!rc) {
                ws(&sc);
                if (sc.pos != len)
                        rc = fatal(&sc, "data after the document");
        }
        free(sc.names);
        free(sc.arena);
        free(sc.refs);
        if (rc) {
                jc->items_ok = 0; /* spans of a text that is not JSON mean nothing */
                return jc->result = -1;
        }
        if (sc.outside)
                jc->items_ok = 0;
        return jc->result = sc.problem ? 1 : 0;
}

void pb_jcheck_free(pb_jcheck_t *jc)
{
        free(jc->items);
        jc->items = NULL;
        jc->nitems = 0;
}

/* What json-c allocates, measured on Debian 12's 0.16 (bench: an object with
 * its hash table ~800 bytes, an array ~150, a member or element with its
 * value ~100), rounded up; a string's bytes are held once more. */
#define COST_CONTAINER 1024
#define COST_VALUE     128

size_t pb_json_cost(const pb_jcheck_t *jc, size_t len)
{
        return jc->containers * COST_CONTAINER + (jc->members + jc->elements + 1) * COST_VALUE +
               2 * len + 4096;
}

struct json_object *pb_json_parse_max(const char *buf, size_t len, size_t max_cost, char *why,
                                      size_t whysz)
{
        pb_jcheck_t jc;
        memset(&jc, 0, sizeof(jc));
        struct json_object *o = pb_json_parse_checked(buf, len, max_cost, &jc, why, whysz);
        pb_jcheck_free(&jc);
        return o;
}

int pb_json_check_bounded(const char *buf, size_t len, size_t max_cost, pb_jcheck_t *jc, char *why,
                          size_t whysz)
{
        int rc = -1;
        if (len > INT32_MAX) {
                int want = jc->want_items;
                memset(jc, 0, sizeof(*jc));
                jc->want_items = want;
                jc->result = -1;
        } else {
                rc = pb_json_check(buf ? buf : "", buf ? len : 0, jc);
        }
        if (rc < 0) {
                snprintf(why, whysz, "%s%s", jc->truncated ? "truncated: " : "",
                         len > INT32_MAX ? "larger than 2 GiB" : jc->why);
                return -1;
        }
        size_t cost = pb_json_cost(jc, len);
        if (max_cost && cost > max_cost) {
                snprintf(why, whysz,
                         "would take about %zu MiB to read (%zu objects and arrays, %zu values in "
                         "%zu bytes; the bound is %zu MiB)",
                         cost >> 20, jc->containers, jc->members + jc->elements, len,
                         max_cost >> 20);
                return -1;
        }
        return 0;
}

int pb_json_page_by_spans(const pb_jcheck_t *jc)
{
        /* items_ok: the root is an object whose "data" array was spanned.
         * json-c stops at JSON_TOKENER_DEFAULT_DEPTH (32) levels: two to spare. */
        return jc->result == 0 && jc->items_ok && jc->depth_max < 30;
}

struct json_object *pb_json_parse_checked(const char *buf, size_t len, size_t max_cost,
                                          pb_jcheck_t *jc, char *why, size_t whysz)
{
        if (pb_json_check_bounded(buf, len, max_cost, jc, why, whysz))
                return NULL;
        return pb_json_parse_passed(buf, len, why, whysz);
}

struct json_object *pb_json_parse_passed(const char *buf, size_t len, char *why, size_t whysz)
{
        json_tokener *tok = json_tokener_new();
        if (!tok) {
                snprintf(why, whysz, "out of memory");
                return NULL;
        }
        json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
        enum json_tokener_error e = json_tokener_get_error(tok);
        if (!o && e == json_tokener_continue) /* a number at the very end */
                o = json_tokener_parse_ex(tok, "", 1), e = json_tokener_get_error(tok);
        json_tokener_free(tok);
        if (!o || e != json_tokener_success) {
                json_object_put(o);
                snprintf(why, whysz, "%s",
                         e == json_tokener_success ? "the text is null"
                                                   : json_tokener_error_desc(e));
                return NULL;
        }
        return o;
}

struct json_object *pb_json_parse(const char *buf, size_t len, char *why, size_t whysz)
{
        return pb_json_parse_max(buf, len, PB_JSON_MAX_COST, why, whysz);
}

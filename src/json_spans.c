#include "json_spans.h"

#include <string.h>

#include "json_write.h"

static int is_ws(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t skip_ws(const char *s, size_t i, size_t n)
{
        while (i < n && is_ws(s[i]))
                i++;
        return i;
}

/* What a scan of a container stops at: a string's start or a bracket. One
 * load per byte instead of five compares: skipping values was the largest
 * single cost of normalizing. */
enum { SK_QUOTE = 1, SK_OPEN = 2, SK_CLOSE = 3 };
static const unsigned char skip_class[256] = {
    ['"'] = SK_QUOTE, ['{'] = SK_OPEN, ['['] = SK_OPEN, ['}'] = SK_CLOSE, [']'] = SK_CLOSE};

/* s[i] is '"': the index after the closing quote; *esc set if a backslash
 * is inside. */
static size_t skip_string(const char *s, size_t i, size_t n, int *esc)
{
        /* Compares, not the table: with a lookup the compiler made the
         * escape's skip a conditional move, which chains every byte's index
         * to the load of the one before (2.6x slower). */
        for (i++; i < n; i++) {
                if (s[i] == '\\') {
                        if (esc)
                                *esc = 1;
                        i++;
                } else if (s[i] == '"') {
                        return i + 1;
                }
        }
        return n;
}

/* As skip_string() without *esc, by memchr: inside a skipped container a
 * string is the long part (ids, names), and the text is valid JSON, so a
 * quote ends it unless an odd run of backslashes comes before it. */
static size_t skip_string_fast(const char *s, size_t i, size_t n)
{
        for (size_t from = i + 1; from < n;) {
                const char *q = memchr(s + from, '"', n - from);
                if (!q)
                        return n;
                size_t j = (size_t)(q - s), k = j;
                while (k > from && s[k - 1] == '\\')
                        k--;
                if (((j - k) & 1) == 0)
                        return j + 1;
                from = j + 1;
        }
        return n;
}

/* The index after the value starting at s[i] (whitespace skipped before). */
static size_t skip_value(const char *s, size_t i, size_t n)
{
        if (i >= n)
                return n;
        if (s[i] == '"')
                return skip_string_fast(s, i, n);
        if (s[i] == '{' || s[i] == '[') {
                size_t depth = 0;
                for (; i < n; i++) {
                        unsigned char k = skip_class[(unsigned char)s[i]];
                        if (!k)
                                continue;
                        if (k == SK_QUOTE) {
                                i = skip_string_fast(s, i, n) - 1;
                        } else if (k == SK_OPEN) {
                                depth++;
                        } else if (k == SK_CLOSE) {
                                if (--depth == 0)
                                        return i + 1;
                        }
                }
                return n;
        }
        while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && !is_ws(s[i]))
                i++;
        return i;
}

int pb_jspan_members(const char *s, size_t n, pb_jmember_t *out, int max)
{
        size_t i = skip_ws(s, 0, n);
        if (i >= n || s[i] != '{')
                return -1;
        i = skip_ws(s, i + 1, n);
        int cnt = 0;
        if (i < n && s[i] == '}')
                return 0;
        while (i < n && s[i] == '"') {
                int esc = 0;
                size_t kend = skip_string(s, i, n, &esc);
                if (esc || cnt >= max || kend > n || kend < i + 2)
                        return -1;
                size_t v = skip_ws(s, kend, n);
                if (v >= n || s[v] != ':')
                        return -1;
                v = skip_ws(s, v + 1, n);
                size_t vend = skip_value(s, v, n);
                out[cnt].name = s + i + 1;
                out[cnt].name_len = kend - i - 2;
                out[cnt].val = s + v;
                out[cnt].val_len = vend - v;
                cnt++;
                i = skip_ws(s, vend, n);
                if (i < n && s[i] == ',') {
                        i = skip_ws(s, i + 1, n);
                        continue;
                }
                return i < n && s[i] == '}' ? cnt : -1;
        }
        return -1;
}

const pb_jmember_t *pb_jspan_find(const pb_jmember_t *m, int cnt, const char *name)
{
        size_t len = strlen(name);
        for (int i = 0; i < cnt; i++)
                if (m[i].name_len == len && memcmp(m[i].name, name, len) == 0)
                        return &m[i];
        return NULL;
}

char pb_jspan_kind(const char *s, size_t n)
{
        size_t i = skip_ws(s, 0, n);
        return i < n ? s[i] : 0;
}

const char *pb_jspan_plain_str(const char *s, size_t n, size_t *len)
{
        size_t i = skip_ws(s, 0, n);
        if (i >= n || s[i] != '"')
                return NULL;
        int esc = 0;
        size_t end = skip_string(s, i, n, &esc);
        if (esc || end > n || end < i + 2 || s[end - 1] != '"')
                return NULL;
        *len = end - i - 2;
        return s + i + 1;
}

int pb_jspan_str_is(const char *s, size_t n, const char *want)
{
        size_t len = 0;
        const char *p = pb_jspan_plain_str(s, n, &len);
        return p && len == strlen(want) && memcmp(p, want, len) == 0;
}

static int hexval(char c)
{
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
}

static long hex4(const char *s, size_t i, size_t n)
{
        if (i + 4 > n)
                return -1;
        long v = 0;
        for (size_t k = 0; k < 4; k++) {
                int h = hexval(s[i + k]);
                if (h < 0)
                        return -1;
                v = v * 16 + h;
        }
        return v;
}

/* The decoded bytes (1..4) of the escape at s[i] (a backslash); *next is
 * the index after it. 0 if json-c might read it otherwise (\u0000, a lone
 * surrogate). */
static size_t unescape(const char *s, size_t i, size_t n, unsigned char *b, size_t *next)
{
        if (i + 1 >= n)
                return 0;
        char c = s[i + 1];
        *next = i + 2;
        switch (c) {
        case '"': b[0] = '"'; return 1;
        case '\\': b[0] = '\\'; return 1;
        case '/': b[0] = '/'; return 1;
        case 'b': b[0] = '\b'; return 1;
        case 'f': b[0] = '\f'; return 1;
        case 'n': b[0] = '\n'; return 1;
        case 'r': b[0] = '\r'; return 1;
        case 't': b[0] = '\t'; return 1;
        case 'u': break;
        default: return 0;
        }
        long cp = hex4(s, i + 2, n);
        *next = i + 6;
        if (cp <= 0)
                return 0;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (i + 12 > n || s[i + 6] != '\\' || s[i + 7] != 'u')
                        return 0;
                long lo = hex4(s, i + 8, n);
                if (lo < 0xDC00 || lo > 0xDFFF)
                        return 0;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                *next = i + 12;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return 0;
        }
        if (cp < 0x80) {
                b[0] = (unsigned char)cp;
                return 1;
        }
        if (cp < 0x800) {
                b[0] = (unsigned char)(0xC0 | (cp >> 6));
                b[1] = (unsigned char)(0x80 | (cp & 0x3F));
                return 2;
        }
        if (cp < 0x10000) {
                b[0] = (unsigned char)(0xE0 | (cp >> 12));
                b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                b[2] = (unsigned char)(0x80 | (cp & 0x3F));
                return 3;
        }
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        return 4;
}

/* One walk for both sizing (o NULL) and writing. Returns the bytes, or
 * (size_t)-1. *i: where the value starts; after it on return. *chg is set
 * when the bytes written differ from the text's (whitespace, an escape
 * written otherwise). */
static size_t canon(const char *s, size_t n, size_t *i, char *o, int depth, int max_depth, int *chg)
{
        const size_t BAD = (size_t)-1;
        size_t p = skip_ws(s, *i, n), w = 0;
        if (p != *i)
                *chg = 1;
        if (p >= n)
                return BAD;
        char c = s[p];
        if (c == '"') {
                int esc = 0;
                size_t end = skip_string(s, p, n, &esc);
                if (end > n || end < p + 2)
                        return BAD;
                *i = end;
                if (!esc) { /* checked text: nothing in it needs an escape */
                        if (o)
                                memcpy(o, s + p, end - p);
                        return end - p;
                }
                if (o)
                        o[0] = '"';
                w = 1;
                for (size_t k = p + 1; k < end - 1;) {
                        if (s[k] != '\\') {
                                if (o)
                                        o[w] = s[k];
                                w++;
                                k++;
                                continue;
                        }
                        unsigned char b[4];
                        size_t next = 0, nb = unescape(s, k, end - 1, b, &next);
                        if (!nb)
                                return BAD;
                        char tmp[32];
                        size_t tl =
                            (size_t)(pb_json_string_put(tmp, (const char *)b, nb) - tmp) - 2;
                        if (tl != next - k || memcmp(tmp + 1, s + k, tl) != 0)
                                *chg = 1;
                        if (o)
                                memcpy(o + w, tmp + 1, tl);
                        w += tl;
                        k = next;
                }
                if (o)
                        o[w] = '"';
                return w + 1;
        }
        if (c == '{' || c == '[') {
                if (depth + 1 > max_depth)
                        return BAD;
                char close = c == '{' ? '}' : ']';
                if (o)
                        o[0] = c;
                w = 1;
                size_t q = skip_ws(s, p + 1, n);
                if (q != p + 1)
                        *chg = 1;
                p = q;
                if (p < n && s[p] == close) {
                        if (o)
                                o[1] = close;
                        *i = p + 1;
                        return 2;
                }
                for (int first = 1;; first = 0) {
                        if (!first) {
                                if (o)
                                        o[w] = ',';
                                w++;
                        }
                        if (c == '{') {
                                q = skip_ws(s, p, n);
                                if (q != p)
                                        *chg = 1;
                                p = q;
                                if (p >= n || s[p] != '"')
                                        return BAD;
                                int esc = 0;
                                size_t kend = skip_string(s, p, n, &esc);
                                if (esc || kend > n || kend < p + 2)
                                        return BAD; /* json-c reads such a name otherwise */
                                if (o)
                                        memcpy(o + w, s + p, kend - p);
                                w += kend - p;
                                p = skip_ws(s, kend, n);
                                if (p != kend)
                                        *chg = 1;
                                if (p >= n || s[p] != ':')
                                        return BAD;
                                if (o)
                                        o[w] = ':';
                                w++;
                                p++;
                        }
                        size_t vw = canon(s, n, &p, o ? o + w : NULL, depth + 1, max_depth, chg);
                        if (vw == BAD)
                                return BAD;
                        w += vw;
                        q = skip_ws(s, p, n);
                        if (q != p)
                                *chg = 1;
                        p = q;
                        if (p < n && s[p] == ',') {
                                p++;
                                continue;
                        }
                        if (p < n && s[p] == close)
                                break;
                        return BAD;
                }
                if (o)
                        o[w] = close;
                *i = p + 1;
                return w + 1;
        }
        size_t end = skip_value(s, p, n);
        if (end == p)
                return BAD;
        if (o)
                memcpy(o, s + p, end - p);
        *i = end;
        return end - p;
}

size_t pb_jspan_canon_len(const char *s, size_t n, int max_depth, int *verbatim)
{
        size_t i = 0;
        int chg = 0;
        size_t w = canon(s, n, &i, NULL, 0, max_depth, &chg);
        if (w == (size_t)-1 || skip_ws(s, i, n) != n)
                return (size_t)-1;
        if (verbatim)
                *verbatim = !chg && i == n;
        return w;
}

char *pb_jspan_canon_put(char *o, const char *s, size_t n)
{
        size_t i = 0;
        int chg = 0;
        size_t w = canon(s, n, &i, o, 0, 1 << 30, &chg);
        return o + (w == (size_t)-1 ? 0 : w);
}

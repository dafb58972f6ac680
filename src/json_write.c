#include "json_write.h"

#include <stdint.h>
#include <string.h>

#include "jsoncheck.h"

/* String escaping exactly as json-c 0.16's json_escape_str() with
 * JSON_C_TO_STRING_NOSLASHESCAPE. Per byte: the letter of its two-character escape (\b \n \r \t \f
 * \" \\), 'u' for the other control characters (\u00XX), 0 for itself. */
static const char escape_of[256] = {
    ['\b'] = 'b',  ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't', ['\f'] = 'f', ['"'] = '"',
    ['\\'] = '\\', [0] = 'u',    [1] = 'u',    [2] = 'u',    [3] = 'u',    [4] = 'u',
    [5] = 'u',     [6] = 'u',    [7] = 'u',    [11] = 'u',   [14] = 'u',   [15] = 'u',
    [16] = 'u',    [17] = 'u',   [18] = 'u',   [19] = 'u',   [20] = 'u',   [21] = 'u',
    [22] = 'u',    [23] = 'u',   [24] = 'u',   [25] = 'u',   [26] = 'u',   [27] = 'u',
    [28] = 'u',    [29] = 'u',   [30] = 'u',   [31] = 'u'};

/* How many bytes at s need no escape: whole words first (ids, URLs and
 * times are most of an envelope's bytes), then by the table. */
static size_t plain_prefix(const char *s, size_t n)
{
        size_t i = pb_json_plain_words(s, n, 0);
        while (i < n && !escape_of[(unsigned char)s[i]])
                i++;
        return i;
}

size_t pb_json_string_len(const char *s, size_t n)
{
        size_t r = 2 + n;
        for (size_t i = plain_prefix(s, n); i < n; i++) {
                char e = escape_of[(unsigned char)s[i]];
                if (e)
                        r += e == 'u' ? 5 : 1;
        }
        return r;
}

char *pb_json_string_put(char *o, const char *s, size_t n)
{
        static const char hex[] = "0123456789abcdef";
        *o++ = '"';
        size_t i = plain_prefix(s, n);
        memcpy(o, s, i);
        o += i;
        for (; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                char e = escape_of[c];
                if (!e) {
                        *o++ = (char)c;
                } else if (e != 'u') {
                        *o++ = '\\';
                        *o++ = e;
                } else {
                        *o++ = '\\';
                        *o++ = 'u';
                        *o++ = '0';
                        *o++ = '0';
                        *o++ = hex[c >> 4];
                        *o++ = hex[c & 0xf];
                }
        }
        *o++ = '"';
        return o;
}

/* Doubles, and integers too large for int64, keep the bytes json-c gives
 * them (a parsed double's own text). */
#define JV_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static int jv_json_c(json_object *v)
{
        json_type t = json_object_get_type(v);
        return t == json_type_double ||
               (t == json_type_int && json_object_get_int64(v) == INT64_MAX); /* or uint64 */
}

static size_t int_digits(int64_t i, char *buf)
{
        char tmp[24];
        size_t n = 0;
        uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
        do {
                tmp[n++] = (char)('0' + u % 10);
                u /= 10;
        } while (u);
        size_t len = 0;
        if (i < 0)
                buf[len++] = '-';
        while (n)
                buf[len++] = tmp[--n];
        return len;
}

size_t pb_json_value_len(json_object *v)
{
        char d[24];
        size_t n = 0;
        if (!v)
                return 4;
        if (jv_json_c(v)) {
                json_object_to_json_string_length(v, JV_FLAGS, &n);
                return n;
        }
        switch (json_object_get_type(v)) {
        case json_type_boolean: return json_object_get_boolean(v) ? 4 : 5;
        case json_type_int: return int_digits(json_object_get_int64(v), d);
        case json_type_string:
                return pb_json_string_len(json_object_get_string(v),
                                          (size_t)json_object_get_string_len(v));
        case json_type_array: {
                size_t cnt = json_object_array_length(v);
                n = 2 + (cnt ? cnt - 1 : 0);
                for (size_t i = 0; i < cnt; i++)
                        n += pb_json_value_len(json_object_array_get_idx(v, i));
                return n;
        }
        case json_type_object: {
                n = 2;
                int first = 1;
                json_object_object_foreach(v, k, m)
                {
                        n += (first ? 0 : 1) + pb_json_string_len(k, strlen(k)) + 1 +
                             pb_json_value_len(m);
                        first = 0;
                }
                return n;
        }
        default: return 4; /* null */
        }
}

/* Copies n bytes of s to o (no terminator: o is inside a buffer being
 * written); returns the end. */
static char *put(char *o, const char *s, size_t n)
{
        memcpy(o, s, n);
        return o + n;
}

/* Writes v at o (pb_json_value_len(v) bytes); returns the end. */
char *pb_json_value_put(char *o, json_object *v)
{
        size_t n = 0;
        if (!v)
                return put(o, "null", 4);
        if (jv_json_c(v)) {
                const char *js = json_object_to_json_string_length(v, JV_FLAGS, &n);
                return put(o, js, n);
        }
        switch (json_object_get_type(v)) {
        case json_type_boolean:
                return json_object_get_boolean(v) ? put(o, "true", 4) : put(o, "false", 5);
        case json_type_int: return o + int_digits(json_object_get_int64(v), o);
        case json_type_string:
                return pb_json_string_put(o, json_object_get_string(v),
                                          (size_t)json_object_get_string_len(v));
        case json_type_array: {
                size_t cnt = json_object_array_length(v);
                *o++ = '[';
                for (size_t i = 0; i < cnt; i++) {
                        if (i)
                                *o++ = ',';
                        o = pb_json_value_put(o, json_object_array_get_idx(v, i));
                }
                *o++ = ']';
                return o;
        }
        case json_type_object: {
                *o++ = '{';
                int first = 1;
                json_object_object_foreach(v, k, m)
                {
                        if (!first)
                                *o++ = ',';
                        o = pb_json_string_put(o, k, strlen(k));
                        *o++ = ':';
                        o = pb_json_value_put(o, m);
                        first = 0;
                }
                *o++ = '}';
                return o;
        }
        default: return put(o, "null", 4);
        }
}

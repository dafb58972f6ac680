/* Spans of a checked JSON text, and json-c's bytes for them without json-c.
 *
 * normalize's common case reads a document's members where they lie and
 * writes the envelope from those spans: building a json-c tree only to read
 * a few strings and write the rest back was half of normalizing. Every
 * function here takes text that pb_json_check() passed (strict RFC 8259 in
 * UTF-8, unique member names, numbers the writer reproduces); on other text
 * the results are unspecified but memory-safe (every scan is bounded by n).
 * What json-c would write differently from a plain reading (a member name
 * with an escape, nesting near its depth limit) is reported, never guessed:
 * the caller then takes the json-c path. Pure: no I/O, no allocation. */
#ifndef PB_JSON_SPANS_H
#define PB_JSON_SPANS_H

#include <stddef.h>

/* One member of an object: its name as written (between the quotes, no
 * escape in it) and its value's bytes. */
typedef struct pb_jmember {
        const char *name;
        size_t name_len;
        const char *val;
        size_t val_len;
} pb_jmember_t;

/* The members of the object s[0..n) (leading and trailing whitespace
 * allowed), up to max, in their order. Returns how many, or -1 if s is not
 * an object, has more than max members, or a member name has an escape. */
int pb_jspan_members(const char *s, size_t n, pb_jmember_t *out, int max);

/* The member called name (exact bytes) among m[0..cnt), or NULL. */
const pb_jmember_t *pb_jspan_find(const pb_jmember_t *m, int cnt, const char *name);

/* The first byte of the value s[0..n) after whitespace: '{', '[', '"', 't',
 * 'f', 'n', or a number's first byte; 0 if empty. */
char pb_jspan_kind(const char *s, size_t n);

/* 1 if the value is the string "want" exactly as written (no escape). */
int pb_jspan_str_is(const char *s, size_t n, const char *want);

/* A string value's bytes between its quotes if it has no escape in it
 * (then *len is set and the pointer is into s); NULL otherwise. */
const char *pb_jspan_plain_str(const char *s, size_t n, size_t *len);

/* Bytes json-c writes for the value s[0..n) (JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE): no whitespace, strings re-escaped, numbers
 * as written. (size_t)-1 if json-c would not write it so: a member name with
 * an escape, or nesting deeper than max_depth below it. *verbatim (if not
 * NULL) says those bytes are s[0..n) itself: a copy writes them. */
size_t pb_jspan_canon_len(const char *s, size_t n, int max_depth, int *verbatim);

/* Writes those pb_jspan_canon_len() bytes at o; returns the end. */
char *pb_jspan_canon_put(char *o, const char *s, size_t n);

#endif

/* jsoncheck: is a JSON text fit to publish as it was sent?
 *
 * json-c parses more than it can give back: NaN and Infinity, bytes that are
 * not UTF-8, a lone "\ud800" (turned into U+FFFD), integers beyond 64 bits
 * (saturated), "-0" (written "0"), and a member name used twice (the last one
 * wins). Each would publish something other than what Telnyx signed, so the
 * bridge checks the bytes first: strict RFC 8259 in UTF-8, with I-JSON's
 * (RFC 7493) unique member names and no lone surrogates, and every number
 * one the writer reproduces exactly. Pure: bytes in, a verdict out.
 *
 * Ownership: pb_jcheck_t is the caller's; pb_jcheck_free() frees the item
 * spans pb_json_check() may have allocated in it. */
#ifndef PB_JSONCHECK_H
#define PB_JSONCHECK_H

#include <stddef.h>

/* Deeper than this is refused (json-c itself stops at 32). */
#define PB_JSON_MAX_DEPTH 64

typedef struct pb_jitem {
        size_t off, len; /* the element's bytes in the checked text */
        int bad;         /* the first problem found lies inside it */
} pb_jitem_t;

typedef struct pb_jcheck {
        int want_items;    /* in: record the spans of the root's "data" array */
        size_t err_off;    /* out: the byte of the first problem */
        char why[200];     /* out: the first problem, with its field's path */
        pb_jitem_t *items; /* out (want_items): one per element, or NULL */
        size_t nitems;
        int items_ok; /* out: the spans cover the whole "data" array */
        /* out, as read so far: objects and arrays, the members of every
         * object, the elements of every array (a parser that reads the text
         * as we do holds exactly these) */
        size_t containers, members, elements;
        int truncated; /* out: not JSON because the text ends inside it */
        int result;    /* out: what pb_json_check() returned */
        int depth_max; /* out: the deepest nesting of objects and arrays read */
} pb_jcheck_t;

/* Checks buf[0..len). Returns 0 if it is fit to publish, 1 if it is valid
 * JSON syntax that cannot be published as sent (why says where and what),
 * -1 if it is not JSON at all or is too deep, or when out of memory. */
int pb_json_check(const char *buf, size_t len, pb_jcheck_t *jc);

/* Frees what pb_json_check() allocated in jc (not jc itself). */
void pb_jcheck_free(pb_jcheck_t *jc);

/* What json-c would allocate to hold a text of len bytes that the check
 * counted in jc (an estimate from above, in bytes). */
size_t pb_json_cost(const pb_jcheck_t *jc, size_t len);

/* The most memory one text may make json-c allocate, unless a caller says
 * otherwise: 32 MiB (a page of 250 Telnyx events takes about 2). */
#define PB_JSON_MAX_COST ((size_t)32 << 20)

struct json_object;

/* Reads buf[0..len) (no NUL needed) with json-c: one JSON value and
 * nothing after it but whitespace, checked first (pb_json_check()) and
 * refused, before anything is built, if it would take json-c more than
 * PB_JSON_MAX_COST. Every parse of bytes from Kafka, the API or a file
 * comes through here. NULL with why when refused; else the caller owns the
 * value (json_object_put()). */
struct json_object *pb_json_parse(const char *buf, size_t len, char *why, size_t whysz);

/* pb_json_parse() with another bound (0: none). */
struct json_object *pb_json_parse_max(const char *buf, size_t len, size_t max_cost, char *why,
                                      size_t whysz);

/* pb_json_parse_max() that leaves its check of the text in *jc (want_items
 * as the caller set it): a caller that needs the element spans too checks
 * the text once. The caller frees jc (pb_jcheck_free()) whatever it returns. */
struct json_object *pb_json_parse_checked(const char *buf, size_t len, size_t max_cost,
                                          pb_jcheck_t *jc, char *why, size_t whysz);

/* The refusals of pb_json_parse_checked() without json-c's parse: 0 if the
 * text is JSON that json-c may be asked to read within max_cost (0: no
 * bound), else -1 with why. jc as there. */
int pb_json_check_bounded(const char *buf, size_t len, size_t max_cost, pb_jcheck_t *jc, char *why,
                          size_t whysz);

/* json-c's parse of a text pb_json_check_bounded() passed (the rest of
 * pb_json_parse_checked()): NULL with why, or the caller's value. */
struct json_object *pb_json_parse_passed(const char *buf, size_t len, char *why, size_t whysz);

/* 1 if a text that pb_json_check_bounded() passed with want_items is a list
 * page whose reader needs no json-c tree of it: fit to publish, an object
 * whose root "data" array's element spans the check found, nested shallower
 * than json-c's limit (pb_json_parse() reads it, should an element need its
 * tree). */
int pb_json_page_by_spans(const pb_jcheck_t *jc);

/* 1 if s[0..n) is UTF-8 as RFC 3629 defines it (no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
int pb_utf8_valid(const char *s, size_t n);

/* How many of the first bytes of s, eight at a time, hold no byte below
 * 0x20, no '"' and no '\\' (nor, with high, one of 0x80 or above): the
 * whole words a JSON string scan can pass over before it looks byte by
 * byte (a multiple of 8, at most n). */
size_t pb_json_plain_words(const char *s, size_t n, int high);

#endif

/* A JSON writer that gives json-c 0.16's bytes (JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE) for a parsed value, without json-c's
 * printbuf (grown by realloc) and snprintf: serializing the payload and the
 * telnyx members with json-c was a fifth of normalizing. Each value is sized
 * first (_len), then written into the caller's exact-size buffer (_put), so
 * an envelope is one allocation. Pure: no I/O, no allocation, no globals but
 * constant tables. Used by normalize.c. */
#ifndef PB_JSON_WRITE_H
#define PB_JSON_WRITE_H

#include <json-c/json.h>
#include <stddef.h>

/* Bytes of s[0..n) as a quoted, escaped JSON string. */
size_t pb_json_string_len(const char *s, size_t n);

/* Writes s[0..n) quoted and escaped at o (pb_json_string_len bytes, no
 * terminator); returns the end. */
char *pb_json_string_put(char *o, const char *s, size_t n);

/* Bytes of v as json-c writes it (NULL is null). */
size_t pb_json_value_len(json_object *v);

/* Writes v at o (pb_json_value_len bytes, no terminator); returns the end. */
char *pb_json_value_put(char *o, json_object *v);

#endif

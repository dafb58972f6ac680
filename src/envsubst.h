/* ${NAME} and ${NAME:-default} expansion in configuration strings. Pure: the
 * environment is read through a caller-supplied lookup function. */
#ifndef PB_ENVSUBST_H
#define PB_ENVSUBST_H

#include <stddef.h>

/* Returns the value of name, or NULL if unset (getenv has this shape). */
typedef const char *(pb_env_lookup_fn)(const char *name);

/* Expands references in in. "$$" is a literal "$". An unset variable without a
 * default is an error naming it. On success *out is a malloc'd string the
 * caller frees. Returns 0 or -1 with errstr set. */
int pb_envsubst(const char *in, pb_env_lookup_fn *lookup, char **out, char *errstr, size_t errsz);

#endif

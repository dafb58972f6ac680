/* Helpers shared by the unit tests. */
#ifndef PB_TESTUTIL_H
#define PB_TESTUTIL_H

#include <stddef.h>

/* Reads a whole file (fixture name relative to tests/fixtures, or an absolute
 * path); aborts the test if it cannot. The caller frees it. */
char *tu_read_file(const char *path, size_t *len);

/* A fake environment for config tests: tu_setenv() entries, nothing else. */
const char *tu_env_lookup(const char *name);
void tu_setenv(const char *name, const char *value);
void tu_clearenv(void);

/* Writes content to a new temporary file and returns its path (static). */
const char *tu_write_temp(const char *content);

/* Appends an envelope to the dump file the schema test validates. */
void tu_dump_envelope(const char *json, size_t len);

#endif

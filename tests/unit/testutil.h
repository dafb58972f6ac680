/* Helpers shared by the unit tests. */
#ifndef PB_TESTUTIL_H
#define PB_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Reads a whole file (fixture name relative to tests/fixtures, or an absolute
 * path); aborts the test if it cannot. The caller frees it. */
char *tu_read_file(const char *path, size_t *len);

/* The room a latency bound gets: 2 in a sanitizer build (every call slower),
 * else PB_LATENCY_SLACK from the environment, else 1. */
int tu_slack(void);

/* A fake environment for config tests: tu_setenv() entries, nothing else. */
const char *tu_env_lookup(const char *name);
void tu_setenv(const char *name, const char *value);
void tu_clearenv(void);

/* Writes content to a new temporary file and returns its path (static). */
const char *tu_write_temp(const char *content);

/* Appends an envelope to the dump file the schema test validates. */
void tu_dump_envelope(const char *json, size_t len);

/* The fake Telnyx API (tests/fake_telnyx/fake_telnyx.py, the contract of
 * docs/telnyx-api.md) in a child process, started with extra flags. */
typedef struct tu_fake_api {
        int pid;
        unsigned port;
        char base[64]; /* http://127.0.0.1:PORT/v2 */
} tu_fake_api_t;

void tu_fake_api_start(tu_fake_api_t *f, const char *flags);
void tu_fake_api_stop(tu_fake_api_t *f);

/* Calls one of its /_admin/ paths (a POST of body, or a GET if NULL); returns
 * the answer's body (static, valid until the next call). */
const char *tu_fake_api_admin(const tu_fake_api_t *f, const char *path, const char *body);

/* Opens pending port-outs on it, one per age in ages_json (a JSON array of
 * seconds, e.g. "[60,0]": created that long ago on its clock); their ids go
 * to ids (at most max). Returns how many it made. */
size_t tu_fake_api_portouts(const tu_fake_api_t *f, const char *ages_json, char (*ids)[64],
                            size_t max);

#include "cmd.h"

typedef int(tu_cmd_fn)(const pb_globals_t *g, int argc, char **argv);

/* Runs a subcommand as main() would (-c config, may be NULL; args split at
 * spaces, args[0] the command's name) with stdout and stderr captured into
 * *out and *err (the caller frees them). Returns its exit code. */
int tu_run_cmd(tu_cmd_fn *cmd, const char *config, const char *args, char **out, char **err);

/* Office callbacks (office.h) for a holder under test. tu_always_term: the
 * leader of term 1 whatever happens (a paused process, resumed: its flag
 * still says leader); tu_refused_fence: Kafka refuses every fence, as it
 * answers a deposed member; tu_election_term and tu_election_fence: those of
 * a real election (ctx: its pb_election_t). */
uint64_t tu_always_term(void *ctx);
int tu_refused_fence(void *ctx, const char *topic, int32_t partition, int64_t offset,
                     const char *meta, char *errstr, size_t errsz);
uint64_t tu_election_term(void *ctx);
int tu_election_fence(void *ctx, const char *topic, int32_t partition, int64_t offset,
                      const char *meta, char *errstr, size_t errsz);

#endif

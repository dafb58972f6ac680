/* Shared by the tests of the cmd_* modules: a command run as main() runs
 * it (tu_run_cmd), and checks on what it printed. */
#ifndef PB_CMDTEST_H
#define PB_CMDTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmd.h"
#include "pb.h"
#include "testutil.h"

/* Fails, showing both streams, unless text holds want. */
#define assert_has(text, want)                                                                     \
        do {                                                                                       \
                if (!strstr((text), (want)))                                                       \
                        fail_msg("%s: no \"%s\" in:\n%s", #text, (want), (text));                  \
        } while (0)

/* Runs cmd; checks its exit code; leaves its output in out/err (freed by
 * the caller with FREE_IO). */
#define RUN(rc_want, cmd, config, args)                                                            \
        do {                                                                                       \
                int rc_ = tu_run_cmd(cmd, config, args, &out, &err);                               \
                if (rc_ != (rc_want))                                                              \
                        fail_msg("%s -> %d, want %d\nstdout:\n%s\nstderr:\n%s", args, rc_,         \
                                 (rc_want), out, err);                                             \
        } while (0)
#define FREE_IO()                                                                                  \
        do {                                                                                       \
                free(out);                                                                         \
                free(err);                                                                         \
                out = err = NULL;                                                                  \
        } while (0)

/* A webhook public key that decodes (the one test_cli uses). */
#define TEST_PUBLIC_KEY "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

#endif

/* The commands, one row each: name, synopsis, the line of `--help`, the
 * README's description, and the function. main() dispatches and prints its
 * usage from it; `check-config --commands` prints the README's table from
 * it (scripts/gen-docs.sh), so neither can miss a command. */
#ifndef PB_CMD_TABLE_H
#define PB_CMD_TABLE_H

#include <stddef.h>
#include <stdio.h>

#include "cmd.h"

typedef int(pb_cmd_fn)(const pb_globals_t *g, int argc, char **argv);

typedef struct pb_command {
        const char *name;
        const char *synopsis; /* its arguments, "" if none */
        const char *summary;  /* for --help: one short line */
        const char *readme;   /* for the README's table (Markdown) */
        pb_cmd_fn *fn;
} pb_command_t;

extern const pb_command_t pb_commands[];
extern const size_t pb_commands_n;

/* The row of a command name, or NULL. */
const pb_command_t *pb_command_find(const char *name);

/* The "Commands:" section of the usage text. */
void pb_commands_usage(FILE *out);

/* The README's table of commands (Markdown). */
void pb_commands_markdown(FILE *out);

#endif

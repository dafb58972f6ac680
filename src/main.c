/* portout-bridge: carries Telnyx port-out events into Kafka.
 * main() parses global options, dispatches to a subcommand and exits with its
 * code; it is the only place that decides to exit. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "cmd_table.h"
#include "kafka_conf.h"
#include "pb.h"

static const char usage_head[] =
    "Usage: portout-bridge [-c FILE] COMMAND [ARGS...]\n"
    "\n"
    "Carries Telnyx port-out events (portout.status_changed,\n"
    "portout.foc_date_changed, portout.new_comment) into Kafka as CloudEvents.\n"
    "\n";

/* After the commands (cmd_table.c). */
static const char usage[] =
    "\n"
    "Options:\n"
    "  -c FILE      configuration file (else $PORTOUT_BRIDGE_CONFIG, else\n"
    "               " PB_CONFIG_DEFAULT_PATH ")\n"
    "  -h, --help   this help; COMMAND --help for a command's own\n"
    "  -V, --version\n"
    "\n"
    "Exit codes (sysexits.h):\n"
    "  0   done\n"
    "  64  usage error\n"
    "  65  input data that could not be used (rejected or dead-lettered)\n"
    "  69  a service (Kafka, Telnyx) unavailable\n"
    "  70  internal error\n"
    "  71  the system refused memory or a thread at start\n"
    "  75  temporary failure: not everything was delivered\n"
    "  77  Kafka refused the bridge: authentication, TLS or authorization (ACLs)\n"
    "  78  configuration error\n";

static int dispatch(const pb_globals_t *gp, int cargc, char **cargv);

static void print_usage(FILE *out)
{
        fputs(usage_head, out);
        pb_commands_usage(out);
        fputs(usage, out);
}

int main(int argc, char **argv)
{
        pb_no_core_dumps();
        pb_globals_t g = {NULL};
        int i = 1;
        for (; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "help") == 0) {
                        print_usage(stdout);
                        return PB_EXIT_OK;
                } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0 ||
                           strcmp(a, "version") == 0) {
                        char lib[640];
                        pb_kafka_describe(lib, sizeof(lib));
                        printf(PB_NAME " " PB_VERSION "\n%s\n", lib);
                        return PB_EXIT_OK;
                } else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
                        if (i + 1 >= argc) {
                                fprintf(stderr, PB_NAME ": %s needs a file\n", a);
                                print_usage(stderr);
                                return PB_EXIT_USAGE;
                        }
                        g.config_path = argv[++i];
                } else if (strncmp(a, "--config=", 9) == 0) {
                        g.config_path = a + 9;
                } else if (a[0] == '-') {
                        fprintf(stderr, PB_NAME ": unknown option %s\n", a);
                        print_usage(stderr);
                        return PB_EXIT_USAGE;
                } else {
                        break;
                }
        }
        if (i >= argc) {
                print_usage(stderr);
                return PB_EXIT_USAGE;
        }
        int rc = dispatch(&g, argc - i, argv + i);
        if (pb_kafka_teardown_abandoned()) {
                /* A librdkafka teardown is still running on a thread of its
                 * own: exit() would run atexit handlers and library
                 * destructors under it (and LeakSanitizer would count its
                 * half-freed state). Leave at once. */
                fflush(NULL);
                _exit(rc);
        }
        return rc;
}

static int dispatch(const pb_globals_t *gp, int cargc, char **cargv)
{
        const pb_command_t *c = pb_command_find(cargv[0]);
        if (c)
                return c->fn(gp, cargc, cargv);
        fprintf(stderr, PB_NAME ": unknown command \"%s\"\n", cargv[0]);
        print_usage(stderr);
        return PB_EXIT_USAGE;
}

/* portout-bridge: carries Telnyx port-out events into Kafka.
 * main() parses global options, dispatches to a subcommand and exits with its
 * code; it is the only place that decides to exit. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "kafka_conf.h"
#include "pb.h"

static const char usage[] =
    "Usage: portout-bridge [-c FILE] COMMAND [ARGS...]\n"
    "\n"
    "Carries Telnyx port-out events (portout.status_changed,\n"
    "portout.foc_date_changed, portout.new_comment) into Kafka as CloudEvents.\n"
    "\n"
    "Commands:\n"
    "  run                      the daemon: signed Telnyx webhooks into Kafka\n"
    "  fetch EVENT_ID [--publish]  one event from the Telnyx API (and publish it)\n"
    "  backfill [--since T] [--until T] [--event-type T] [--portout-id ID] [--dry-run]\n"
    "                           publish a period of events from the Telnyx API\n"
    "  republish EVENT_ID       ask Telnyx to re-send an event's webhook\n"
    "  normalize [FILE...|-]    print the CloudEvents envelopes as NDJSON (no Kafka)\n"
    "  replay [FILE...|-]       publish events from files, wait for delivery reports\n"
    "  check-config [--example|--reference|--metrics]\n"
    "                           validate and print the effective configuration\n"
    "                           (or the example file, the option or metrics reference)\n"
    "  healthcheck [--ready]    ask the running bridge's admin listener (exit 0: healthy)\n"
    "  checkpoint               print the poll checkpoint from its store (file or Kafka)\n"
    "  show PORTOUT_ID [--since T] [--json]\n"
    "                           a port-out's state and its timeline from Kafka\n"
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

int main(int argc, char **argv)
{
        pb_no_core_dumps();
        pb_globals_t g = {NULL};
        int i = 1;
        for (; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "help") == 0) {
                        fputs(usage, stdout);
                        return PB_EXIT_OK;
                } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0 ||
                           strcmp(a, "version") == 0) {
                        char lib[640];
                        pb_kafka_describe(lib, sizeof(lib));
                        printf(PB_NAME " " PB_VERSION "\n%s\n", lib);
                        return PB_EXIT_OK;
                } else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
                        if (i + 1 >= argc) {
                                fprintf(stderr, PB_NAME ": %s needs a file\n%s", a, usage);
                                return PB_EXIT_USAGE;
                        }
                        g.config_path = argv[++i];
                } else if (strncmp(a, "--config=", 9) == 0) {
                        g.config_path = a + 9;
                } else if (a[0] == '-') {
                        fprintf(stderr, PB_NAME ": unknown option %s\n%s", a, usage);
                        return PB_EXIT_USAGE;
                } else {
                        break;
                }
        }
        if (i >= argc) {
                fputs(usage, stderr);
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
        const char *cmd = cargv[0];
        if (strcmp(cmd, "normalize") == 0)
                return pb_cmd_normalize(gp, cargc, cargv);
        if (strcmp(cmd, "replay") == 0)
                return pb_cmd_replay(gp, cargc, cargv);
        if (strcmp(cmd, "fetch") == 0)
                return pb_cmd_fetch(gp, cargc, cargv);
        if (strcmp(cmd, "backfill") == 0)
                return pb_cmd_backfill(gp, cargc, cargv);
        if (strcmp(cmd, "republish") == 0)
                return pb_cmd_republish(gp, cargc, cargv);
        if (strcmp(cmd, "run") == 0)
                return pb_cmd_run(gp, cargc, cargv);
        if (strcmp(cmd, "check-config") == 0)
                return pb_cmd_check_config(gp, cargc, cargv);
        if (strcmp(cmd, "healthcheck") == 0)
                return pb_cmd_healthcheck(gp, cargc, cargv);
        if (strcmp(cmd, "checkpoint") == 0)
                return pb_cmd_checkpoint(gp, cargc, cargv);
        if (strcmp(cmd, "show") == 0)
                return pb_cmd_show(gp, cargc, cargv);
        fprintf(stderr, PB_NAME ": unknown command \"%s\"\n%s", cmd, usage);
        return PB_EXIT_USAGE;
}

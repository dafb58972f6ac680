#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "pb.h"
#include "poll_checkpoint.h"
#include "poll_election.h"
#include "timefmt.h"

static const char usage[] =
    "Usage: portout-bridge [-c FILE] checkpoint\n"
    "\n"
    "Prints the poll checkpoint (Telnyx's created_at up to which every event is\n"
    "in Kafka) from where telnyx.checkpoint_store keeps it: the file, or the\n"
    "committed offset metadata of the group telnyx.poll_group (read without\n"
    "joining it). Exit 0 if there is one, 1 if none yet, 69 if it cannot be\n"
    "read, 78 on a configuration error.\n";

int pb_cmd_checkpoint(const pb_globals_t *g, int argc, char **argv)
{
        if (pb_cmd_wants_help(argc, argv, usage))
                return PB_EXIT_OK;
        if (argc > 1) {
                fprintf(stderr, "checkpoint: unexpected argument %s\n%s", argv[1], usage);
                return PB_EXIT_USAGE;
        }
        pb_config_t *cfg = pb_cmd_load_config(g);
        if (!cfg)
                return PB_EXIT_CONFIG;
        char err[PB_ERRSZ], ts[40], meta[512] = "";
        int64_t us;
        int kafka = cfg->telnyx_checkpoint_store == PB_CHECKPOINT_KAFKA;
        int rc = kafka ? pb_election_peek_checkpoint(cfg, &us, meta, sizeof(meta), err, sizeof(err))
                       : pb_checkpoint_read(cfg->telnyx_checkpoint_file, &us, err, sizeof(err));
        int exit_code = PB_EXIT_OK;
        if (rc < 0) {
                fprintf(stderr, "checkpoint: %s\n", err);
                exit_code = PB_EXIT_UNAVAILABLE;
        } else if (rc == 0) {
                printf("none (%s %s)\n", kafka ? "group" : "file",
                       kafka ? cfg->telnyx_poll_group : cfg->telnyx_checkpoint_file);
                exit_code = 1;
        } else {
                pb_time_format_us(us, ts, sizeof(ts));
                printf("%s (%s %s)%s%s\n", ts, kafka ? "group" : "file",
                       kafka ? cfg->telnyx_poll_group : cfg->telnyx_checkpoint_file,
                       *meta ? " " : "", meta);
        }
        pb_config_free(cfg);
        return exit_code;
}

#include "cmd_table.h"

#include <string.h>

const pb_command_t pb_commands[] = {
    {"run", "", "the daemon: webhooks and/or polling into Kafka",
     "the daemon: receives signed Telnyx webhooks (200 only once Kafka has them) and/or polls "
     "the Telnyx API with a durable checkpoint; `/healthz`, `/readyz`, `/metrics` on a listener "
     "of their own",
     pb_cmd_run},
    {"fetch", "EVENT_ID [--publish]", "one event from the Telnyx API (and publish it)",
     "retrieves one event from the Telnyx API, prints its envelope, optionally publishes it",
     pb_cmd_fetch},
    {"backfill", "[--since T] [--until T] [--event-type T] [--portout-id ID] [--dry-run]",
     "publish a period of events from the Telnyx API",
     "publishes a period of events from the Telnyx API, each once, and waits for every delivery "
     "report",
     pb_cmd_backfill},
    {"republish", "EVENT_ID", "ask Telnyx to re-send an event's webhook",
     "asks Telnyx to re-send an event's webhook (204)", pb_cmd_republish},
    {"normalize", "[FILE...|-]", "print the CloudEvents envelopes as NDJSON (no Kafka)",
     "prints the envelopes of Telnyx events (REST records, show/list responses, webhook "
     "deliveries; one JSON document per line) as NDJSON; no Kafka",
     pb_cmd_normalize},
    {"replay", "[--quiet] [FILE...|-]", "publish events from files, wait for delivery reports",
     "publishes every event of the files, waits for every delivery report, prints a summary per "
     "topic",
     pb_cmd_replay},
    {"check-config",
     "[--kafka] [--example|--reference|--metrics|--commands|--acls PRINCIPAL [--mode M]]",
     "validate and print the configuration, or a reference",
     "validates the configuration exactly as `run` would (so it needs the same environment: the "
     "webhook public key, the API key when polling) and prints it with secrets redacted; "
     "`--kafka` also connects as configured and checks every topic and group it needs, with "
     "this principal's rights; `--acls` prints the `kafka-acls.sh` commands that grant them "
     "([secured Kafka](docs/operations.md#connecting-to-a-secured-kafka)); `--example` prints "
     "the commented example, `--reference`, `--metrics` and `--commands` the references in "
     "docs/operations.md and this table",
     pb_cmd_check_config},
    {"healthcheck", "[--ready]", "ask the running bridge (exit 0: healthy)",
     "asks the running bridge's admin listener (the container's `HEALTHCHECK`; exit 0 healthy, 1 "
     "not)",
     pb_cmd_healthcheck},
    {"reload", "", "reload the webhook's TLS certificate and key (as SIGHUP)",
     "asks the running bridge to read `webhook.tls_cert_file` and `webhook.tls_key_file` again "
     "(as SIGHUP, or the systemd unit's `systemctl reload`): new handshakes use the new pair, open "
     "connections keep theirs; a pair that does not load or match is refused, the old one stays",
     pb_cmd_reload},
    {"checkpoint", "", "print the poll checkpoint (file or Kafka)",
     "prints the poll checkpoint (its time, and the store: the file, or the Kafka group) that "
     "polling resumes from; exit 1 if there is none yet",
     pb_cmd_checkpoint},
    {"show", "PORTOUT_ID [--since T] [--json]", "a port-out's state and its timeline from Kafka",
     "a port-out's state (the state topic's, else the API's) and its timeline from the topics: "
     "every event and dead letter about it, with its ingest path and trace context; `--json` for "
     "tools",
     pb_cmd_show},
};
const size_t pb_commands_n = sizeof(pb_commands) / sizeof(pb_commands[0]);

const pb_command_t *pb_command_find(const char *name)
{
        for (size_t i = 0; i < pb_commands_n; i++)
                if (strcmp(pb_commands[i].name, name) == 0)
                        return &pb_commands[i];
        return NULL;
}

void pb_commands_usage(FILE *out)
{
        fputs("Commands:\n", out);
        for (size_t i = 0; i < pb_commands_n; i++) {
                const pb_command_t *c = &pb_commands[i];
                char head[160];
                snprintf(head, sizeof(head), "%s%s%s", c->name, *c->synopsis ? " " : "",
                         c->synopsis);
                if (strlen(head) <= 24)
                        fprintf(out, "  %-24s %s\n", head, c->summary);
                else
                        fprintf(out, "  %s\n  %-24s %s\n", head, "", c->summary);
        }
}

void pb_commands_markdown(FILE *out)
{
        fputs("| Command | What it does |\n|---|---|\n", out);
        for (size_t i = 0; i < pb_commands_n; i++) {
                const pb_command_t *c = &pb_commands[i];
                fprintf(out, "| `portout-bridge %s", c->name);
                if (*c->synopsis) {
                        fputc(' ', out);
                        for (const char *p = c->synopsis; *p; p++) /* a | would end the cell */
                                fputs(*p == '|' ? "\\|" : (char[]){*p, 0}, out);
                }
                fprintf(out, "` | %s |\n", c->readme);
        }
}

#include "kafka_acls.h"

pb_acl_mode_t pb_kafka_acl_mode(const pb_config_t *cfg)
{
        if (cfg->telnyx_poll_enabled && cfg->telnyx_checkpoint_store == PB_CHECKPOINT_KAFKA)
                return PB_ACL_REPLICAS;
        if (cfg->webhook_enabled && cfg->dedupe_from_kafka && cfg->dedupe_entries > 0)
                return PB_ACL_INDEX;
        return PB_ACL_PUBLISH;
}

static void cmd_head(FILE *out, const char *principal)
{
        fprintf(out,
                "kafka-acls.sh --bootstrap-server \"$BROKERS\" --command-config admin.properties "
                "--add --allow-principal '%s'",
                principal);
}

/* One command granting op on every topic of the list. */
static void topics_cmd(FILE *out, const char *principal, const char *op, const char *const *topics,
                       size_t n)
{
        cmd_head(out, principal);
        fprintf(out, " --operation %s", op);
        for (size_t i = 0; i < n; i++)
                fprintf(out, " --topic '%s'", topics[i]);
        fputc('\n', out);
}

static void mode_acls(const pb_config_t *cfg, pb_acl_mode_t mode, const char *principal, FILE *out)
{
        const char *published[PB_CONFIG_TOPICS];
        pb_config_topics(cfg, published);
        size_t n = PB_CONFIG_TOPICS;
        fprintf(out, "# ACLs for %s: %s\n", principal,
                mode == PB_ACL_REPLICAS ? "replicas polling with checkpoint_store = \"kafka\""
                : mode == PB_ACL_INDEX
                    ? "webhooks with the index (dedupe.from_kafka), no poll election"
                    : "publishing (replay, backfill, fetch --publish; webhooks without the index; "
                      "one poller with checkpoint_store = \"file\")");
        fprintf(out, "# Publish events and dead letters. WRITE implies DESCRIBE; the idempotent\n"
                     "# producer needs no cluster right (Kafka 3.0 and later).\n");
        topics_cmd(out, principal, "Write", published, n);
        if (mode == PB_ACL_PUBLISH)
                return;
        fprintf(out, "# The index and the reconcile read what the topics already hold, so that\n"
                     "# no replica publishes an event twice (READ implies DESCRIBE).\n");
        topics_cmd(out, principal, "Read", published, n);
        if (mode == PB_ACL_INDEX) {
                fprintf(out, "# Their reader joins no group, but librdkafka looks up the\n"
                             "# coordinator of its group id.\n");
                cmd_head(out, principal);
                fprintf(out, " --operation Describe --group '%s'\n", cfg->telnyx_reconcile_group);
                return;
        }
        fprintf(out, "# The poll election: one consumer group on the single-partition control\n"
                     "# topic; the checkpoint is its committed offset's metadata.\n");
        cmd_head(out, principal);
        fprintf(out, " --operation Read --topic '%s' --group '%s'\n", cfg->topic_control,
                cfg->telnyx_poll_group);
        fprintf(out, "# The reconcile's reader joins no group, but librdkafka looks up the\n"
                     "# coordinator of its group id.\n");
        cmd_head(out, principal);
        fprintf(out, " --operation Describe --group '%s'\n", cfg->telnyx_reconcile_group);
        fprintf(out, "# Only if the control topic does not exist yet (else create it with one\n"
                     "# partition and leave this out):\n# ");
        cmd_head(out, principal);
        fprintf(out, " --operation Create --topic '%s'\n", cfg->topic_control);
}

/* The state writer (state.enabled): it reads the event topics, reads and
 * writes topics.state, and keeps its position as state.group's offsets. */
static void state_acls(const pb_config_t *cfg, pb_acl_mode_t mode, const char *principal, FILE *out)
{
        const char *events[PB_CONFIG_EVENT_TOPICS];
        pb_config_event_topics(cfg, events);
        fprintf(out,
                "# The state writer (state.enabled): the event topics read, %s read and\n"
                "# written, its position committed in group %s.\n",
                cfg->topic_state, cfg->state_group);
        if (mode == PB_ACL_PUBLISH)
                topics_cmd(out, principal, "Read", events, PB_CONFIG_EVENT_TOPICS);
        const char *st[] = {cfg->topic_state};
        topics_cmd(out, principal, "Read", st, 1);
        topics_cmd(out, principal, "Write", st, 1);
        /* to check that it is compacted */
        topics_cmd(out, principal, "DescribeConfigs", st, 1);
        cmd_head(out, principal);
        fprintf(out, " --operation Read --group '%s'\n", cfg->state_group);
        fprintf(out,
                "# Only if %s does not exist yet (else create it with\n"
                "# cleanup.policy=compact and leave this out):\n# ",
                cfg->topic_state);
        cmd_head(out, principal);
        fprintf(out, " --operation Create --topic '%s'\n", cfg->topic_state);
        fprintf(out,
                "# Deadline events: %s written, and read whole on taking office (what\n"
                "# it announced is never announced again).\n",
                cfg->topic_deadlines);
        const char *dl[] = {cfg->topic_deadlines};
        topics_cmd(out, principal, "Read", dl, 1);
        topics_cmd(out, principal, "Write", dl, 1);
        fprintf(out, "# Only if %s does not exist yet:\n# ", cfg->topic_deadlines);
        cmd_head(out, principal);
        fprintf(out, " --operation Create --topic '%s'\n", cfg->topic_deadlines);
}

/* The desk (desk.enabled): commands read, results written and read back,
 * its position committed in desk.group. */
static void desk_acls(const pb_config_t *cfg, const char *principal, FILE *out)
{
        fprintf(out,
                "# The desk (desk.enabled): %s read, %s written and read back, its\n"
                "# position committed in group %s. Whoever may WRITE %s can\n"
                "# authorize or reject a port-out: grant it to the deciding system only.\n",
                cfg->topic_commands, cfg->topic_command_results, cfg->desk_group,
                cfg->topic_commands);
        const char *cmds[] = {cfg->topic_commands}, *res[] = {cfg->topic_command_results};
        topics_cmd(out, principal, "Read", cmds, 1);
        topics_cmd(out, principal, "Read", res, 1);
        topics_cmd(out, principal, "Write", res, 1);
        cmd_head(out, principal);
        fprintf(out, " --operation Read --group '%s'\n", cfg->desk_group);
        fprintf(out, "# Only if %s does not exist yet:\n# ", cfg->topic_command_results);
        cmd_head(out, principal);
        fprintf(out, " --operation Create --topic '%s'\n", cfg->topic_command_results);
}

void pb_kafka_acls_print(const pb_config_t *cfg, pb_acl_mode_t mode, const char *principal,
                         FILE *out)
{
        mode_acls(cfg, mode, principal, out);
        if (cfg->state_enabled)
                state_acls(cfg, mode, principal, out);
        if (cfg->desk_enabled)
                desk_acls(cfg, principal, out);
}

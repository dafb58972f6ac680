/* The Kafka ACLs the bridge needs, derived from its configuration (topics,
 * groups, whether it polls and where its checkpoint lives), printed as
 * kafka-acls.sh commands: check-config --acls, docs/operations.md and the
 * secured-Kafka tests all use this one list. */
#ifndef PB_KAFKA_ACLS_H
#define PB_KAFKA_ACLS_H

#include <stdio.h>

#include "config.h"

/* The deployment modes whose needs differ. */
typedef enum pb_acl_mode {
        PB_ACL_PUBLISH = 0, /* replay, backfill, fetch; or webhooks and one poller
                             * with checkpoint_store = "file" and no index */
        PB_ACL_REPLICAS,    /* polling with checkpoint_store = "kafka" */
        PB_ACL_INDEX,       /* webhooks with the index (dedupe.from_kafka), no
                             * poll election: publish, and read the topics */
} pb_acl_mode_t;

/* The mode this configuration runs in. */
pb_acl_mode_t pb_kafka_acl_mode(const pb_config_t *cfg);

/* Prints the kafka-acls.sh commands granting principal (e.g. "User:bridge")
 * what mode needs, each with a comment saying what it is for. */
void pb_kafka_acls_print(const pb_config_t *cfg, pb_acl_mode_t mode, const char *principal,
                         FILE *out);

#endif

/* check-config --kafka: connects with the configured security and reports,
 * as a table, whether Kafka is ready for this configuration: each topic it
 * names (exists, partitions, the operations this principal may do on it,
 * the single partition of the control topic) and the groups it uses. */
#ifndef PB_KAFKA_CHECK_H
#define PB_KAFKA_CHECK_H

#include <librdkafka/rdkafka.h>
#include <stdio.h>

#include "config.h"

/* Prints the table to out. Returns PB_EXIT_OK when every row is ✓, else
 * PB_EXIT_NOPERM (refused login, a missing right or topic),
 * PB_EXIT_UNAVAILABLE (no answer) or PB_EXIT_CONFIG, with errstr. */
int pb_kafka_check(const pb_config_t *cfg, FILE *out, char *errstr, size_t errsz);

/* Whether this client may write topic, as the cluster says
 * (DescribeTopics with the authorized operations): 1 yes (or the cluster has
 * no authorizer), 0 no (errstr says so), PB_ERR unknown (no answer, the
 * topic not described: errstr). */
int pb_kafka_can_write(rd_kafka_t *rk, const char *topic, char *errstr, size_t errsz);

/* What is known of one topic, and what the configuration needs of it. */
typedef struct pb_topic_facts {
        const char *name;
        int err; /* rd_kafka_resp_err_t describing it, 0 if none */
        size_t partitions;
        int ops_known; /* 0: the broker reported no operations (no authorizer) */
        int can_write, can_read;
        int need_write, need_read;
        int want_partitions; /* > 0: exactly this many (the control topic) */
} pb_topic_facts_t;

/* Prints one topic's row of the table; returns its problems (0 or 1). */
int pb_kafka_check_topic_row(const pb_topic_facts_t *f, FILE *out);

#endif

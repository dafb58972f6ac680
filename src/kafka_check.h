/* check-config --kafka: connects with the configured security and reports,
 * as a table, whether Kafka is ready for this configuration: each topic it
 * names (exists, partitions, the operations this principal may do on it,
 * the single partition of the control topic) and the groups it uses. */
#ifndef PB_KAFKA_CHECK_H
#define PB_KAFKA_CHECK_H

#include <stdio.h>

#include "config.h"

/* Prints the table to out. Returns PB_EXIT_OK when every row is ✓, else
 * PB_EXIT_NOPERM (refused login, a missing right or topic),
 * PB_EXIT_UNAVAILABLE (no answer) or PB_EXIT_CONFIG, with errstr. */
int pb_kafka_check(const pb_config_t *cfg, FILE *out, char *errstr, size_t errsz);

#endif

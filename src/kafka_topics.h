/* Topics as the cluster has them: their partitions (metadata), creating one
 * that is missing, and reading partitions from a position to the ends they
 * have now (the state writer's load, show's scan). One place, so every reader
 * meets an unauthorized topic, a missing one and a stalled partition alike.
 * rk is the caller's client, borrowed. */
#ifndef PB_KAFKA_TOPICS_H
#define PB_KAFKA_TOPICS_H

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>

/* Adds topic's partitions to l (if not NULL) at offset; returns how many (0:
 * the topic does not exist, or has no leader yet), or PB_ERR with why (no
 * answer, or not authorized to describe it). */
int pb_kafka_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms,
                        rd_kafka_topic_partition_list_t *l, int64_t offset, char *errstr,
                        size_t errsz);

/* Creates the topic if it is missing (partitions, -1: the broker's default;
 * compacted: cleanup.policy=compact; the cluster's replication), asking for
 * it before anything else: a metadata request first would have a broker
 * with auto.create.topics.enable make it with its defaults (delete), and
 * the compaction asked for after would be refused as "exists". Without
 * CREATE, an existing topic is found by metadata. A compacted one must be:
 * an existing topic whose cleanup.policy has no "compact" is refused
 * (PB_KAFKA_NOT_COMPACTED, errstr says how to fix it); one whose policy
 * cannot be read (no DESCRIBE_CONFIGS) is taken, with a warning. Returns
 * 0, PB_ERR or PB_KAFKA_NOT_COMPACTED with why. */
int pb_kafka_ensure_topic(rd_kafka_t *rk, const char *topic, int partitions, int compacted,
                          char *errstr, size_t errsz);
#define PB_KAFKA_NOT_COMPACTED (-2)

/* One configuration value of a topic as the cluster has it (DescribeConfigs):
 * 0 with out set, or PB_ERR with why (not authorized, no such topic, no
 * answer). */
int pb_kafka_topic_config(rd_kafka_t *rk, const char *topic, const char *name, char *out,
                          size_t outsz, char *errstr, size_t errsz);

/* Called for each record read; non-zero stops the read (errstr set). */
typedef int pb_kafka_record_fn(void *ctx, const rd_kafka_message_t *m, char *errstr, size_t errsz);

/* Reads each partition of from (its offset: absolute, BEGINNING or END) to
 * the end it has at the start, through rk (a consumer with
 * enable.partition.eof, assigned for the read and unassigned after).
 * *total (if not NULL) grows by the records to read once the ends are
 * known. PB_ERR with why: an end unknown, a partition's error, *stop set,
 * or not done within timeout_ms. */
int pb_kafka_read_to_end(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *from,
                         int timeout_ms, const volatile sig_atomic_t *stop, pb_kafka_record_fn *fn,
                         void *ctx, _Atomic int64_t *total, char *errstr, size_t errsz);

#endif

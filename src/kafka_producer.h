/* Producer: hands records to Kafka (librdkafka, idempotent, acks=all) and
 * reports each record's fate exactly once through its completion callback.
 *
 * Fates: DELIVERED (acked on its topic), DEAD_LETTERED (Kafka refused it
 * permanently, e.g. too large, and the record opts.redirect made of it was
 * acked instead), FAILED (not durable: timeout, shutdown, the redirect failed
 * too, or there is no redirect). What a redirect holds is not the
 * producer's business: it sends bytes and headers (record.h builds them).
 *
 * Order: records are handed to librdkafka in the order pb_producer_send()
 * accepted them, across rebuilds too, so records with one key reach their
 * partition in send order (a rebuild may repeat a record, never reorder).
 *
 * Threads: a producer owns one poll thread. Completion callbacks run on it
 * (or in the thread calling pb_producer_close()) and must not block for long
 * nor call back into the producer. pb_producer_send() may be called from any
 * thread. No wait of the producer depends on the wall clock: they use
 * CLOCK_MONOTONIC or poll(2), and librdkafka is only ever polled without a
 * timeout, so a clock step cannot stretch them.
 *
 * Bounds: at most max_pending records (librdkafka's
 * queue.buffering.max.messages) are held at once; a full producer makes
 * send() wait, or refuse at once with PB_SEND_BUSY when timeout_ms is 0.
 *
 * Faults: a fatal producer error (idempotence broken) destroys and rebuilds
 * the librdkafka handle and re-sends every record not yet acknowledged, oldest
 * first; sends during the rebuild are queued, never blocked on it.
 *
 * Ownership: send() copies everything it is given; the producer owns its
 * records until their callback has run. */
#ifndef PB_KAFKA_PRODUCER_H
#define PB_KAFKA_PRODUCER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "pb.h"
#include "record.h"

typedef struct pb_producer pb_producer_t;

typedef enum pb_fate { PB_FATE_DELIVERED = 0, PB_FATE_DEAD_LETTERED, PB_FATE_FAILED } pb_fate_t;

/* What became of one record; valid only during the callback. */
typedef struct pb_delivery {
        pb_fate_t fate;
        const char *topic; /* where it is durable (the DLQ topic if dead-lettered) */
        int32_t partition;
        int64_t offset;
        int err;             /* rd_kafka_resp_err_t of the failure, 0 if none */
        const char *reason;  /* why it was dead-lettered or failed, else NULL */
        int maybe_persisted; /* FAILED, but sent and not answered: Kafka may hold it */
} pb_delivery_t;

typedef void(pb_done_fn)(void *opaque, const pb_delivery_t *d);

/* pb_producer_send() results. */
enum pb_send_rc {
        PB_SEND_OK = 0,
        PB_SEND_ERROR = -1,  /* the record cannot be produced (errstr says why) */
        PB_SEND_BUSY = -2,   /* full: nothing was enqueued, try again later */
        PB_SEND_CLOSED = -3, /* the producer is shutting down */
};

/* Why Kafka is not taking records, as far as the client can tell. */
typedef enum pb_kafka_problem {
        PB_KAFKA_OK = 0,
        PB_KAFKA_UNREACHABLE,    /* no broker connection (down, refused, DNS) */
        PB_KAFKA_AUTHENTICATION, /* SASL credentials refused */
        PB_KAFKA_TLS,            /* TLS handshake or certificate refused */
        PB_KAFKA_AUTHORIZATION,  /* logged in, but an ACL denies a topic */
} pb_kafka_problem_t;

/* "ok", "unreachable", "authentication", "tls", "authorization". */
const char *pb_kafka_problem_name(pb_kafka_problem_t problem);

/* What a librdkafka error (code, and its text, which may be NULL) says
 * about the connection; PB_KAFKA_OK if nothing. */
pb_kafka_problem_t pb_kafka_classify(int code, const char *reason);

/* 1 for the problems that retrying will not cure (credentials, TLS, ACLs). */
int pb_kafka_problem_is_refusal(pb_kafka_problem_t problem);

typedef struct pb_producer_stats {
        uint64_t sent, delivered, dead_lettered, failed, rebuilds;
        uint64_t pending;           /* records without a fate */
        uint64_t queued;            /* of those, waiting in the bridge (rebuild, dead letter) */
        uint64_t max_pending;       /* the bound */
        uint64_t loops;             /* turns of the poll thread: it is alive while this moves */
        int brokers_up;             /* 1 while some broker connection is UP (statistics,
                                     * delivery reports); 0 after "all brokers down" */
        pb_kafka_problem_t problem; /* the latest, cleared by a delivery (or, but
                                     * for authorization, a broker UP) */
        int64_t problem_since_ms;   /* monotonic; when it began */
        char problem_text[256];     /* librdkafka's words for it */
        int refused;                /* fail-fast gave up: sends are refused */
        uint64_t refused_records;   /* failed because Kafka refused the bridge */
        pb_kafka_problem_t last_refusal; /* and the latest such refusal */
        char refusal_text[256];
} pb_producer_stats_t;

/* Fills out with the record to send instead of a refused one (out's
 * strings may borrow from r's record, which outlives it). Returns 0, or -1
 * out of memory (asked again later). */
typedef int(pb_redirect_fn)(void *ctx, const pb_refusal_t *r, pb_record_out_t *out);

typedef struct pb_producer_opts {
        /* > 0: every record has this long (librdkafka's message.timeout.ms,
         * over kafka.properties) and is never sent after it: a record that
         * waits in the bridge past it, or was held by a handle that had to
         * be rebuilt, fails instead of being sent late. The answer given to
         * its source stays true (issue: webhooks answered 503 must not land
         * behind the answer's back). librdkafka checks its timeouts once a
         * second, so a fate can come up to ~1 s after the deadline. */
        int record_timeout_ms;
        /* What to send instead of a record Kafka refused for good (its
         * fate is then DEAD_LETTERED, or FAILED if that fails too); NULL:
         * such a record FAILS. Called on the poll thread, under the
         * producer's lock: quick, no call back into the producer. */
        pb_redirect_fn *redirect;
        void *redirect_ctx;
} pb_producer_opts_t;

/* Creates a producer from the config (safe defaults, then kafka.properties)
 * and opts (NULL: the defaults). Returns NULL with errstr set (naming the
 * offending property) and *fail (may be NULL): configuration or system. */
pb_producer_t *pb_producer_new_opts(const pb_config_t *cfg, const pb_producer_opts_t *opts,
                                    pb_fail_t *fail, char *errstr, size_t errsz);

/* One-shot commands: once a refusal (pb_kafka_problem_is_refusal) has
 * lasted ms with nothing delivered, every pending record fails with its
 * reason and further sends are refused, instead of waiting out
 * message.timeout.ms. 0 (the default) never gives up: the daemon waits. */
void pb_producer_set_fail_fast(pb_producer_t *p, int ms);

/* Enqueues a record; cb(opaque, ...) runs once with its fate. While the
 * producer is full it waits up to timeout_ms (<0: until room; 0: not at all).
 * Returns PB_SEND_OK, or another pb_send_rc (nothing enqueued, cb will not
 * run) with errstr set. */
int pb_producer_send(pb_producer_t *p, const pb_record_t *rec, pb_done_fn *cb, void *opaque,
                     int timeout_ms, char *errstr, size_t errsz);

/* Waits until every record has its fate or timeout_ms passed (<0: forever).
 * Returns the number of records still without one. */
size_t pb_producer_flush(pb_producer_t *p, int timeout_ms);

/* Fetches metadata for the topics (creating them where the broker
 * auto-creates), so the first record does not pay for it. Returns how many
 * topics were found; a failure is only logged. */
int pb_producer_warmup(pb_producer_t *p, const char *const *topics, size_t n, int timeout_ms);

/* Copies the counters. */
void pb_producer_stats(pb_producer_t *p, pb_producer_stats_t *out);

/* Stops accepting records and gives every record still pending its fate
 * (FAILED, "shutdown") before it returns; call pb_producer_flush() first for
 * a graceful stop. Returns how many records that failed. Idempotent. */
size_t pb_producer_close(pb_producer_t *p);

/* Closes the producer if needed and frees it. */
void pb_producer_free(pb_producer_t *p);

/* Raises a librdkafka fatal error on the live handle, as a broken idempotent
 * sequence would (rd_kafka_test_fatal_error). For tests and fire drills. */
int pb_producer_inject_fatal(pb_producer_t *p, const char *reason);

/* Name of a delivery error code (pb_delivery_t.err), e.g. "_MSG_TIMED_OUT". */
const char *pb_producer_err_name(int err);

#endif

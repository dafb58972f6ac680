/* A transactional producer, as MirrorMaker 2 with exactly-once, Kafka
 * Connect's exactly-once sources or Kafka Streams write: it puts committed
 * and aborted transactions (and their markers) into topics the bridge
 * reads, and can hold one open.
 *
 *   txn_producer BOOTSTRAP TXN_ID TOPICS ACTION...
 *
 * TOPICS: comma-separated; every partition of each gets 2 records per
 * transaction. ACTION: "commit", "abort", or "hold=S" (a transaction left
 * open S seconds, then aborted). Prints one line per action; exit 0 when
 * every one succeeded. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, rd_kafka_error_t *e)
{
        fprintf(stderr, "txn_producer: %s: %s\n", what, e ? rd_kafka_error_string(e) : "failed");
        exit(1);
}

static int partitions(rd_kafka_t *rk, const char *topic)
{
        rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        int n = 0;
        for (int tries = 0; tries < 50 && n == 0; tries++) {
                if (rd_kafka_metadata(rk, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                    md->topic_cnt == 1 && !md->topics[0].err)
                        n = md->topics[0].partition_cnt;
                if (md)
                        rd_kafka_metadata_destroy(md);
                md = NULL;
                if (!n)
                        nanosleep(&(struct timespec){0, 200000000L}, NULL);
        }
        rd_kafka_topic_destroy(t);
        if (!n) {
                fprintf(stderr, "txn_producer: topic %s has no partitions\n", topic);
                exit(1);
        }
        return n;
}

static void produce_all(rd_kafka_t *rk, const char *topics, const char *tag)
{
        char list[1024];
        snprintf(list, sizeof(list), "%s", topics);
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                int n = partitions(rk, t);
                for (int p = 0; p < n; p++)
                        for (int k = 0; k < 2; k++) {
                                char v[128];
                                snprintf(v, sizeof(v), "{\"txn\":\"%s\",\"k\":%d}", tag, k);
                                rd_kafka_resp_err_t err = rd_kafka_producev(
                                    rk, RD_KAFKA_V_TOPIC(t), RD_KAFKA_V_PARTITION(p),
                                    RD_KAFKA_V_VALUE(v, strlen(v)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_HEADER("txn", tag, -1), RD_KAFKA_V_END);
                                if (err) {
                                        fprintf(stderr, "txn_producer: produce: %s\n", rd_kafka_err2str(err));
                                        exit(1);
                                }
                        }
        }
        rd_kafka_flush(rk, 10000);
}

int main(int argc, char **argv)
{
        if (argc < 5) {
                fprintf(stderr, "usage: txn_producer BOOTSTRAP TXN_ID TOPICS ACTION...\n");
                return 2;
        }
        char e[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], e, sizeof(e)) ||
            rd_kafka_conf_set(conf, "transactional.id", argv[2], e, sizeof(e)) ||
            rd_kafka_conf_set(conf, "transaction.timeout.ms", "60000", e, sizeof(e))) {
                fprintf(stderr, "txn_producer: %s\n", e);
                return 2;
        }
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
        if (!rk) {
                fprintf(stderr, "txn_producer: %s\n", e);
                return 1;
        }
        rd_kafka_error_t *err = rd_kafka_init_transactions(rk, 30000);
        if (err)
                die("init_transactions", err);
        for (int i = 4; i < argc; i++) {
                const char *a = argv[i];
                if ((err = rd_kafka_begin_transaction(rk)))
                        die("begin_transaction", err);
                char tag[64];
                snprintf(tag, sizeof(tag), "%s-%d", a, i);
                produce_all(rk, argv[3], tag);
                if (!strcmp(a, "commit")) {
                        if ((err = rd_kafka_commit_transaction(rk, 30000)))
                                die("commit_transaction", err);
                } else if (!strcmp(a, "abort")) {
                        if ((err = rd_kafka_abort_transaction(rk, 30000)))
                                die("abort_transaction", err);
                } else if (!strncmp(a, "hold=", 5)) {
                        printf("holding a transaction open for %s s\n", a + 5);
                        fflush(stdout);
                        sleep((unsigned)atoi(a + 5));
                        if ((err = rd_kafka_abort_transaction(rk, 30000)))
                                die("abort_transaction", err);
                } else {
                        fprintf(stderr, "txn_producer: unknown action %s\n", a);
                        return 2;
                }
                printf("%s: done\n", a);
                fflush(stdout);
        }
        rd_kafka_destroy(rk);
        return 0;
}

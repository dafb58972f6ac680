#include "kafka_conf.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "pb.h"

/* The producer's safe defaults, applied before kafka.properties (which may
 * override them). */
static const char *const producer_defaults[][2] = {
    {"enable.idempotence", "true"},
    {"acks", "all"},
    {"queue.buffering.max.messages", "10000"},
    {"queue.buffering.max.kbytes", "65536"},
    {"message.timeout.ms", "300000"},
    {"partitioner", "murmur2_random"},
    /* A webhook is answered after its delivery report, so linger is ack
     * latency: librdkafka 2.0.2 waits whole milliseconds (5 by default), so
     * no linger at all. Batching comes from one request in flight per
     * broker instead: records wait while the previous Produce request is
     * acknowledged, so batches grow with load and not with time. Measured
     * side by side (docs/performance.md): one connection 0.3 ms p50
     * instead of 1.6, and no more CPU per request at 64 than linger 1 ms
     * (linger 0 with 5 in flight cost a quarter more); replay unchanged. */
    {"linger.ms", "0"},
    {"max.in.flight.requests.per.connection", "1"},
    /* librdkafka's 10 s would keep webhooks answered 503 for up to 10 s
     * after a broker comes back; the bridge answers within 1.5 s. */
    {"reconnect.backoff.max.ms", "2000"},
    {"client.id", PB_NAME},
    /* Broker state for readiness comes from the statistics (non-blocking). */
    {"statistics.interval.ms", "1000"},
};

const char *const (*pb_kafka_producer_defaults(size_t *n))[2]
{
        *n = sizeof(producer_defaults) / sizeof(producer_defaults[0]);
        return producer_defaults;
}

void pb_kafka_describe(char *buf, size_t n)
{
        char features[512] = "?";
        size_t fsz = sizeof(features);
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (rd_kafka_conf_get(conf, "builtin.features", features, &fsz) != RD_KAFKA_CONF_OK)
                snprintf(features, sizeof(features), "?");
        rd_kafka_conf_destroy(conf);
        snprintf(buf, n, "librdkafka %s (features: %s)", rd_kafka_version_str(), features);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
        (void)rk;
        /* librdkafka logs transient broker trouble (connection refused) at
         * LOG_ERR; to an operator that is a warning, errors come via error_cb. */
        enum pb_log_level l = level <= LOG_CRIT      ? PB_LOG_ERROR
                              : level <= LOG_WARNING ? PB_LOG_WARN
                              : level <= LOG_INFO    ? PB_LOG_INFO
                                                     : PB_LOG_DEBUG;
        /* A consumer is told about the producer properties it ignores. */
        if (strcmp(fac, "CONFWARN") == 0)
                l = PB_LOG_DEBUG;
        pb_log(l, "librdkafka %s: %s", fac, buf);
}

/* Properties that name a file librdkafka reads at start: OpenSSL's error
 * for a missing one ("x509 certificate routines::system lib") does not
 * say which, so the bridge checks them first. */
static const char *const file_props[] = {
    "ssl.ca.location",       "ssl.certificate.location", "ssl.key.location",
    "ssl.keystore.location", "ssl.crl.location",         "sasl.kerberos.keytab",
};

static int check_file_prop(const char *k, const char *v, char *e, size_t esz)
{
        for (size_t i = 0; i < sizeof(file_props) / sizeof(file_props[0]); i++) {
                if (strcmp(k, file_props[i]) != 0)
                        continue;
                if (strcmp(k, "ssl.ca.location") == 0 && strcmp(v, "probe") == 0)
                        return 0; /* librdkafka searches the usual places */
                if (access(v, R_OK) != 0) {
                        snprintf(e, esz, "%s: cannot read %s: %s", k, v, strerror(errno));
                        return -1;
                }
        }
        return 0;
}

/* Secrets that may come from a file (Kubernetes and Docker secrets mount as
 * files): "NAME.file=PATH" sets NAME to the file's contents. */
static const char *const secret_file_props[] = {
    "sasl.password",           "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.config", "ssl.key.password",
    "ssl.keystore.password",   "ssl.key.pem",
    "ssl.certificate.pem",     "ssl.ca.pem",
};

/* The property NAME of "NAME.file", or NULL if k is not one. */
static const char *secret_file_base(const char *k, char *buf, size_t bufsz)
{
        size_t n = strlen(k);
        if (n < 6 || strcmp(k + n - 5, ".file") != 0 || n - 5 >= bufsz)
                return NULL;
        memcpy(buf, k, n - 5);
        buf[n - 5] = '\0';
        for (size_t i = 0; i < sizeof(secret_file_props) / sizeof(secret_file_props[0]); i++)
                if (strcmp(buf, secret_file_props[i]) == 0)
                        return buf;
        return NULL;
}

int pb_kafka_is_secret_file_property(const char *k)
{
        char b[128];
        return secret_file_base(k, b, sizeof(b)) != NULL;
}

/* Reads a secret file: a readable regular file, not empty, at most 64 KiB;
 * one trailing newline dropped (echo and editors add it). */
static char *read_secret_file(const char *k, const char *path, char *e, size_t esz)
{
        char *s = NULL;
        size_t len = 0;
        if (pb_read_small_file(path, 65536, &s, &len, e, esz)) {
                char why[256];
                snprintf(why, sizeof(why), "%s", e);
                snprintf(e, esz, "%s: cannot read %s: %s", k, path, why);
                return NULL;
        }
        if (len && s[len - 1] == '\n')
                s[--len] = '\0';
        if (len && s[len - 1] == '\r')
                s[--len] = '\0';
        if (!len) {
                snprintf(e, esz, "%s: %s is empty", k, path);
                free(s);
                return NULL;
        }
        return s;
}

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, const pb_config_t *cfg,
                    int line, char *errstr, size_t errsz)
{
        char e[256], base[128];
        if (secret_file_base(k, base, sizeof(base))) {
                char *secret = read_secret_file(k, v, e, sizeof(e));
                if (secret) {
                        int rc = conf_set(conf, base, secret, cfg, line, errstr, errsz);
                        memset(secret, 0, strlen(secret));
                        free(secret);
                        return rc;
                }
        } else if (!check_file_prop(k, v, e, sizeof(e))) {
                if (rd_kafka_conf_set(conf, k, v, e, sizeof(e)) == RD_KAFKA_CONF_OK)
                        return 0;
                if (line <= 0) /* librdkafka's words do not always name the property */
                        return pb_seterr(errstr, errsz, "kafka property %s: %s", k, e);
        }
        /* e names the property (ours) or the line does (the file's). */
        if (line > 0)
                return pb_seterr(errstr, errsz, "%s:%d: kafka.properties: %s", cfg->path, line, e);
        return pb_seterr(errstr, errsz, "kafka property %s", e);
}

rd_kafka_conf_t *pb_kafka_conf(const pb_config_t *cfg, int producer, char *errstr, size_t errsz)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        size_t n = producer ? sizeof(producer_defaults) / sizeof(producer_defaults[0]) : 0;
        for (size_t i = 0; i < n; i++)
                if (conf_set(conf, producer_defaults[i][0], producer_defaults[i][1], cfg, 0, errstr,
                             errsz))
                        goto fail;
        if (conf_set(conf, "bootstrap.servers", cfg->kafka_brokers, cfg, 0, errstr, errsz))
                goto fail;
        /* The readers (reconcile, election) come back after an outage as
         * soon as the producer does: librdkafka's default backoff grows to
         * 10 s (a flake in test_kafka_reconcile: a catch-up past its 10 s bound). */
        if (!producer && conf_set(conf, "reconnect.backoff.max.ms", "2000", cfg, 0, errstr, errsz))
                goto fail;
        for (size_t i = 0; i < cfg->kafka_props_cnt; i++)
                if (conf_set(conf, cfg->kafka_props[i].key, cfg->kafka_props[i].value, cfg,
                             cfg->kafka_props[i].line, errstr, errsz))
                        goto fail;
        if (producer) {
                /* Whatever the bridge accepts must fit in a record, or an
                 * authentic event could be stored nowhere, not even as a
                 * dead letter. */
                char v[32];
                size_t vn = sizeof(v);
                long long mmb =
                    rd_kafka_conf_get(conf, "message.max.bytes", v, &vn) == RD_KAFKA_CONF_OK
                        ? strtoll(v, NULL, 10)
                        : 1000000;
                if (cfg->input_max_event_bytes + PB_ENVELOPE_OVERHEAD_BYTES > mmb) {
                        pb_seterr(errstr, errsz,
                                  "input.max_event_bytes (%lld) and the envelope around it (up to "
                                  "%d bytes more) do not fit kafka message.max.bytes (%lld): "
                                  "lower input.max_event_bytes, or raise message.max.bytes and "
                                  "the topics' max.message.bytes with it",
                                  (long long)cfg->input_max_event_bytes, PB_ENVELOPE_OVERHEAD_BYTES,
                                  mmb);
                        goto fail;
                }
        }
        rd_kafka_conf_set_log_cb(conf, log_cb);
        return conf;
fail:
        rd_kafka_conf_destroy(conf);
        return NULL;
}

struct destroyer {
        rd_kafka_t *rk;
        int consumer;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int done, abandoned;
};

static void *destroy_main(void *arg)
{
        struct destroyer *d = arg;
        if (d->consumer)
                rd_kafka_consumer_close(d->rk);
        rd_kafka_destroy(d->rk);
        pthread_mutex_lock(&d->lock);
        d->done = 1;
        int abandoned = d->abandoned;
        pthread_cond_signal(&d->cond);
        pthread_mutex_unlock(&d->lock);
        if (abandoned) { /* the waiter gave up and left d to us */
                pthread_mutex_destroy(&d->lock);
                pthread_cond_destroy(&d->cond);
                free(d);
        }
        return NULL;
}

static atomic_int abandoned_teardowns;

int pb_kafka_teardown_abandoned(void)
{
        return atomic_load(&abandoned_teardowns) > 0;
}

int pb_kafka_destroy_bounded(rd_kafka_t *rk, int consumer, int ms)
{
        struct destroyer *d = calloc(1, sizeof(*d));
        pthread_t th;
        int started = 0;
        if (d) {
                d->rk = rk;
                d->consumer = consumer;
                pthread_mutex_init(&d->lock, NULL);
                pb_cond_init(&d->cond);
                started = pthread_create(&th, NULL, destroy_main, d) == 0;
                if (!started) {
                        pthread_mutex_destroy(&d->lock);
                        pthread_cond_destroy(&d->cond);
                        free(d);
                }
        }
        if (!started) { /* no thread to spare: do it here, unbounded */
                if (consumer)
                        rd_kafka_consumer_close(rk);
                rd_kafka_destroy(rk);
                return 0;
        }
        int64_t until = pb_mono_ms() + ms;
        pthread_mutex_lock(&d->lock);
        while (!d->done && pb_mono_ms() < until)
                pb_cond_timedwait_ms(&d->cond, &d->lock, until - pb_mono_ms());
        int done = d->done;
        if (!done)
                d->abandoned = 1;
        pthread_mutex_unlock(&d->lock);
        if (!done) {
                atomic_fetch_add(&abandoned_teardowns, 1);
                pthread_detach(th);
                pb_warn("kafka: librdkafka did not stop within %d ms (its timers run on the "
                        "wall clock, which may have stepped); not waiting for it",
                        ms);
                return -1;
        }
        pthread_join(th, NULL);
        pthread_mutex_destroy(&d->lock);
        pthread_cond_destroy(&d->cond);
        free(d);
        return 0;
}

int pb_kafka_conf_check(const pb_config_t *cfg, char *errstr, size_t errsz)
{
        rd_kafka_conf_t *conf = pb_kafka_conf(cfg, 1, errstr, errsz);
        if (!conf)
                return PB_ERR;
        rd_kafka_conf_destroy(conf);
        return 0;
}

void pb_kafka_conf_print(const pb_config_t *cfg, FILE *out)
{
        char e[256];
        rd_kafka_conf_t *conf = pb_kafka_conf(cfg, 1, e, sizeof(e));
        if (!conf)
                return;
        size_t nd;
        const char *const(*default_props)[2] = pb_kafka_producer_defaults(&nd);
        /* Print only what the bridge or the user set, not all ~150 defaults. */
        fprintf(out,
                "# librdkafka properties in effect (bridge defaults, then kafka.properties)\n");
        for (size_t i = 0; i < nd + 1 + cfg->kafka_props_cnt; i++) {
                const char *k = i < nd    ? default_props[i][0]
                                : i == nd ? "bootstrap.servers"
                                          : cfg->kafka_props[i - nd - 1].key;
                char v[512];
                size_t vsz = sizeof(v);
                if (pb_kafka_is_secret_file_property(k)) {
                        fprintf(out, "#   %.*s=<redacted> (from %s)\n", (int)(strlen(k) - 5), k,
                                cfg->kafka_props[i - nd - 1].value);
                        continue;
                }
                if (rd_kafka_conf_get(conf, k, v, &vsz) != RD_KAFKA_CONF_OK)
                        continue;
                fprintf(out, "#   %s=%s\n", k, pb_config_is_secret_property(k) ? "<redacted>" : v);
        }
        rd_kafka_conf_destroy(conf);
}

rd_kafka_t *pb_kafka_consumer_new(const pb_config_t *cfg, const pb_consumer_spec_t *spec,
                                  char *errstr, size_t errsz)
{
        rd_kafka_conf_t *conf = pb_kafka_conf(cfg, 0, errstr, errsz);
        if (!conf)
                return NULL;
        char client[64], e[512];
        snprintf(client, sizeof(client), PB_NAME "-%s", spec->role);
        const char *set[][2] = {
            {"client.id", client},
            {"group.id", spec->group_id},
            {"isolation.level", "read_committed"},
            {"enable.auto.commit", "false"},
            {"enable.auto.offset.store", "false"},
            {"allow.auto.create.topics", "false"},
            {"auto.offset.reset", "earliest"},
            {"enable.partition.eof", spec->partition_eof ? "true" : "false"},
            {"fetch.wait.max.ms", spec->fetch_wait_max_ms},
            {"fetch.min.bytes", spec->fetch_min_bytes},
            {"queued.max.messages.kbytes", spec->queued_max_kbytes},
            {"session.timeout.ms", spec->session_timeout_ms},
            {"heartbeat.interval.ms", spec->heartbeat_interval_ms},
            {"partition.assignment.strategy", spec->assignment_strategy},
        };
        for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++)
                if (set[i][1] && rd_kafka_conf_set(conf, set[i][0], set[i][1], e, sizeof(e))) {
                        rd_kafka_conf_destroy(conf);
                        pb_seterr(errstr, errsz, "%s: %s", spec->role, e);
                        return NULL;
                }
        if (spec->opaque)
                rd_kafka_conf_set_opaque(conf, spec->opaque);
        if (spec->rebalance_cb)
                rd_kafka_conf_set_rebalance_cb(conf, spec->rebalance_cb);
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
        if (!rk) {
                rd_kafka_conf_destroy(conf);
                pb_seterr(errstr, errsz, "%s: cannot create the consumer: %s", spec->role, e);
                return NULL;
        }
        rd_kafka_poll_set_consumer(rk);
        return rk;
}

#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct family {
        const char *name, *type, *labels, *help;
};

/* Every metric the bridge exports. */
static const struct family families[] = {
    {"portout_bridge_http_requests_total", "counter", "code, reason",
     "HTTP requests by status code and reason (e.g. delivered, duplicate, signature_mismatch)."},
    {"portout_bridge_http_evictions_total", "counter", "what",
     "Unverified requests cut to make room (what=request: webhook.unverified_budget_bytes) and "
     "connections closed for a new one (what=connection: over max_connections)."},
    {"portout_bridge_log_lines_left_out_total", "counter", "what",
     "Log lines about refused clients left out of the log (at most 10 a second are written)."},
    {"portout_bridge_events_published_total", "counter", "topic",
     "Events acknowledged by Kafka, by topic (dead-letter topic included)."},
    {"portout_bridge_events_dead_lettered_total", "counter", "stage",
     "Events sent to the dead-letter topic, by stage (normalize, produce)."},
    {"portout_bridge_delivery_failures_total", "counter", "error",
     "Events Kafka did not acknowledge, by librdkafka error name."},
    {"portout_bridge_duplicates_total", "counter", "ingest",
     "Events not published again, by ingest path: already delivered (or following "
     "a copy on its way)."},
    {"portout_bridge_events_in_flight", "gauge", "",
     "Events handed to Kafka and not yet acknowledged."},
    {"portout_bridge_kafka_up", "gauge", "",
     "1 while the producer has a working broker connection."},
    {"portout_bridge_kafka_problem", "gauge", "reason",
     "1 for the reason Kafka is not taking records (unreachable, authentication, tls, "
     "authorization), 0 for the others; all 0 when it is."},
    {"portout_bridge_producer_rebuilds_total", "counter", "",
     "Producer rebuilds after a fatal librdkafka error."},
    {"portout_bridge_producer_queue_depth", "gauge", "",
     "Records waiting for Kafka's acknowledgement (librdkafka and the bridge's own queue)."},
    {"portout_bridge_producer_queue_limit", "gauge", "",
     "Most records the producer holds; beyond it webhooks get 503 backpressure."},
    {"portout_bridge_dedupe_entries", "gauge", "", "Event ids held in the dedupe window."},
    {"portout_bridge_build_info", "gauge", "version", "Always 1; the version is a label."},
    {"portout_bridge_poll_events_total", "counter", "outcome",
     "Events read by polling, by outcome (delivered, dead_lettered, duplicate, failed)."},
    {"portout_bridge_poll_missed_by_webhook_total", "counter", "",
     "Events created since start that a poll delivered because no webhook had "
     "(with webhooks on: the measure of webhook delivery health)."},
    {"portout_bridge_poll_last_success_timestamp_seconds", "gauge", "",
     "When the last poll completed (Unix seconds, host clock); 0 until the first (a follower that "
     "was never elected)."},
    {"portout_bridge_poll_errors_total", "counter", "reason",
     "Polls that could not complete, by reason (api, checkpoint)."},
    {"portout_bridge_poll_leader", "gauge", "",
     "1 while this replica is the elected poll leader (telnyx.checkpoint_store = kafka)."},
    {"portout_bridge_reconcile_records_total", "counter", "",
     "Records the poller read from the event and dead-letter topics to learn what Kafka holds."},
    {"portout_bridge_reconcile_reads_total", "counter", "",
     "Reads of the topics to their ends (one before each poll of the leader)."},
    {"portout_bridge_reconcile_read_milliseconds_total", "counter", "",
     "Time spent in those reads; divided by reconcile_reads_total, the cost per poll."},
    {"portout_bridge_reconcile_last_read_milliseconds", "gauge", "",
     "How long the last read of the topics (to their ends) took."},
    {"portout_bridge_reconcile_ids", "gauge", "",
     "Event ids the poller knows Kafka holds (bounded by telnyx.reconcile_max_ids)."},
    {"portout_bridge_reconcile_evicted_total", "counter", "",
     "Ids forgotten because telnyx.reconcile_max_ids was reached (each risks a duplicate)."},
    {"portout_bridge_poll_checkpoint_timestamp_seconds", "gauge", "",
     "Polling checkpoint: every event created before it is in Kafka (Unix seconds)."},
    {"portout_bridge_index_ids", "gauge", "",
     "Event ids the index knows the topics hold (any replica's deliveries in dedupe.ttl_s)."},
    {"portout_bridge_index_loaded", "gauge", "",
     "1 once the index has read the last dedupe.ttl_s of the topics (webhooks wait for it)."},
    {"portout_bridge_index_load_milliseconds", "gauge", "",
     "How long the index took to read the last dedupe.ttl_s of the topics at start."},
    {"portout_bridge_index_catch_up_milliseconds", "gauge", "",
     "How long the index's last read of the topics to their ends took."},
    {"portout_bridge_index_errors_total", "counter", "",
     "Index reads that did not reach the topics' ends (its view ages meanwhile)."},
    {"portout_bridge_index_evicted_total", "counter", "",
     "Ids the index forgot because dedupe.entries was reached (each risks a duplicate)."},
    {"portout_bridge_state_portouts", "gauge", "status",
     "Port-outs the state topic holds, by status (state.enabled, on the writer)."},
    {"portout_bridge_state_oldest_pending_seconds", "gauge", "",
     "Age of the oldest pending port-out (since its created_at); 0 if none."},
    {"portout_bridge_state_pending_over_threshold", "gauge", "",
     "Port-outs pending longer than state.pending_alert_s."},
    {"portout_bridge_state_foc_watched", "gauge", "",
     "Port-outs not yet authorized that have a FOC date."},
    {"portout_bridge_state_nearest_foc_seconds", "gauge", "",
     "Time to the nearest FOC date among them (negative: passed); 0 if none."},
    {"portout_bridge_state_writer", "gauge", "",
     "1 while this replica writes the state topic (the poll leader, or the single instance)."},
    {"portout_bridge_state_fetches_total", "counter", "outcome",
     "GET /portouts/{id} and resync reads, by outcome (written, unchanged, not_found, invalid: an "
     "answer that is no port-out's state, skipped; failed: the API or Kafka, tried again)."},
    {"portout_bridge_state_api_calls_total", "counter", "",
     "Telnyx API calls of the state writer (fetches and resync pages)."},
    {"portout_bridge_state_events_total", "counter", "",
     "Event records the state writer read (coalesced per port-out before a fetch)."},
    {"portout_bridge_deadline_events_total", "counter", "outcome",
     "Deadline events (topics.deadlines) by outcome (written: Kafka acknowledged it; failed: "
     "not written, tried at the next look; fenced: not written, the election's group refused "
     "this writer's fence: a deposed leader that had not heard of it yet)."},
    {"portout_bridge_deadline_last_lag_seconds", "gauge", "",
     "Of the last deadline events written: the longest time from a threshold to its event."},
    {"portout_bridge_desk_active", "gauge", "",
     "1 while this replica carries out the commands of topics.commands (desk.enabled)."},
    {"portout_bridge_desk_commands_total", "counter", "outcome",
     "Commands with a result written, by outcome (done, refused, failed, dry_run)."},
    {"portout_bridge_desk_api_calls_total", "counter", "",
     "Calls the desk sent to the Telnyx API (at most one carried out per command id; a call "
     "refused with 429 is sent again, and counted again)."},
    {"portout_bridge_desk_rate_limited_total", "counter", "",
     "Desk calls refused by the API's rate limit (429: not carried out) and sent again after "
     "the window."},
    {"portout_bridge_desk_fenced_total", "counter", "",
     "Calls and results the desk did not make because the election's group refused its fence "
     "(a deposed leader that had not heard of it yet; the next leader takes the command up)."},
    {"portout_bridge_desk_duplicates_total", "counter", "",
     "Command records skipped because their command already has a result (a replay, a copy)."},
    {"portout_bridge_webhook_late_fates_total", "counter", "",
     "Webhooks answered 503 at their deadline whose event then reached Kafka or failed "
     "unacknowledged (the answer was not the final word; should stay 0)."},
    {"portout_bridge_trace_spans_total", "counter", "outcome",
     "Event spans for the OTLP collector (tracing.otlp_endpoint), by outcome (exported: the "
     "collector took them; dropped: the queue was full, or the collector was down, slow or "
     "refused them)."},
    {"portout_bridge_tls_certificate_expiry_timestamp_seconds", "gauge", "",
     "With webhook TLS: when the certificate the listener serves expires (Unix seconds); "
     "alert well before (deploy/monitoring/alerts.yaml: 14 days)."},
    {"portout_bridge_tls_reloads_total", "counter", "outcome",
     "Reloads of the webhook's certificate and key (SIGHUP, POST /-/reload), by outcome (ok; "
     "failed: the files did not load or did not match, the old pair stays)."},
    {"portout_bridge_ack_seconds", "histogram", "le",
     "Time from a webhook request's arrival to its answer being decided."},
};
#define N_FAMILIES (sizeof(families) / sizeof(families[0]))

static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,   0.25,   0.5,   1,    2.5,   5};
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct series {
        int family;
        char labels[200];
        int64_t value;
};

struct pb_metrics {
        pthread_mutex_t lock;
        struct series s[PB_METRICS_MAX_SERIES];
        size_t n;
        uint64_t hist[N_BUCKETS + 1];
        double hist_sum;
        uint64_t hist_count;
};

pb_metrics_t *pb_metrics_new(void)
{
        pb_metrics_t *m = calloc(1, sizeof(*m));
        if (m)
                pthread_mutex_init(&m->lock, NULL);
        return m;
}

void pb_metrics_free(pb_metrics_t *m)
{
        if (!m)
                return;
        pthread_mutex_destroy(&m->lock);
        free(m);
}

static int family_index(const char *name)
{
        for (size_t i = 0; i < N_FAMILIES; i++)
                if (strcmp(families[i].name, name) == 0)
                        return (int)i;
        return -1;
}

/* Caller holds the lock. NULL when the family is unknown or the table full. */
static struct series *get_series(pb_metrics_t *m, const char *family, const char *labels)
{
        int f = family_index(family);
        if (f < 0)
                return NULL;
        const char *l = labels ? labels : "";
        for (size_t i = 0; i < m->n; i++)
                if (m->s[i].family == f && strcmp(m->s[i].labels, l) == 0)
                        return &m->s[i];
        if (m->n == PB_METRICS_MAX_SERIES)
                return NULL;
        struct series *s = &m->s[m->n++];
        s->family = f;
        snprintf(s->labels, sizeof(s->labels), "%s", l);
        s->value = 0;
        return s;
}

void pb_metrics_add(pb_metrics_t *m, const char *family, const char *labels, int64_t by)
{
        pthread_mutex_lock(&m->lock);
        struct series *s = get_series(m, family, labels);
        if (s)
                s->value += by;
        pthread_mutex_unlock(&m->lock);
}

void pb_metrics_set(pb_metrics_t *m, const char *family, const char *labels, int64_t value)
{
        pthread_mutex_lock(&m->lock);
        struct series *s = get_series(m, family, labels);
        if (s)
                s->value = value;
        pthread_mutex_unlock(&m->lock);
}

int64_t pb_metrics_get(pb_metrics_t *m, const char *family, const char *labels)
{
        pthread_mutex_lock(&m->lock);
        int f = family_index(family);
        int64_t v = 0;
        for (size_t i = 0; f >= 0 && i < m->n; i++)
                if (m->s[i].family == f && strcmp(m->s[i].labels, labels ? labels : "") == 0)
                        v = m->s[i].value;
        pthread_mutex_unlock(&m->lock);
        return v;
}

void pb_metrics_observe_ack(pb_metrics_t *m, double seconds)
{
        pthread_mutex_lock(&m->lock);
        size_t b = 0;
        while (b < N_BUCKETS && seconds > buckets[b])
                b++;
        m->hist[b]++;
        m->hist_sum += seconds;
        m->hist_count++;
        pthread_mutex_unlock(&m->lock);
}

void pb_metrics_label(char *out, size_t outsz, const char *name, const char *value)
{
        size_t n = (size_t)snprintf(out, outsz, "%s=\"", name);
        for (const char *p = value; *p && n + 3 < outsz; p++) {
                if (*p == '\\' || *p == '"') {
                        out[n++] = '\\';
                        out[n++] = *p;
                } else if (*p == '\n') {
                        out[n++] = '\\';
                        out[n++] = 'n';
                } else {
                        out[n++] = *p;
                }
        }
        if (n + 1 < outsz)
                out[n++] = '"';
        out[n < outsz ? n : outsz - 1] = '\0';
}

void pb_metrics_print_reference(FILE *out)
{
        fputs("| Metric | Type | Labels | Meaning |\n|---|---|---|---|\n", out);
        for (size_t i = 0; i < N_FAMILIES; i++)
                fprintf(out, "| `%s` | %s | %s | %s |\n", families[i].name, families[i].type,
                        *families[i].labels ? families[i].labels : "", families[i].help);
}

char *pb_metrics_render(pb_metrics_t *m, size_t *len)
{
        char *buf = NULL;
        size_t sz = 0;
        FILE *f = open_memstream(&buf, &sz);
        if (!f)
                return NULL;
        pthread_mutex_lock(&m->lock);
        for (size_t fi = 0; fi < N_FAMILIES; fi++) {
                const struct family *fam = &families[fi];
                fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name,
                        fam->type);
                if (strcmp(fam->type, "histogram") == 0) {
                        uint64_t cum = 0;
                        for (size_t b = 0; b < N_BUCKETS; b++) {
                                cum += m->hist[b];
                                fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", fam->name, buckets[b],
                                        (unsigned long long)cum);
                        }
                        cum += m->hist[N_BUCKETS];
                        fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", fam->name,
                                (unsigned long long)cum);
                        fprintf(f, "%s_sum %.6f\n%s_count %llu\n", fam->name, m->hist_sum,
                                fam->name, (unsigned long long)m->hist_count);
                        continue;
                }
                for (size_t i = 0; i < m->n; i++) {
                        if (m->s[i].family != (int)fi)
                                continue;
                        if (m->s[i].labels[0])
                                fprintf(f, "%s{%s} %lld\n", fam->name, m->s[i].labels,
                                        (long long)m->s[i].value);
                        else
                                fprintf(f, "%s %lld\n", fam->name, (long long)m->s[i].value);
                }
        }
        pthread_mutex_unlock(&m->lock);
        fclose(f);
        if (len)
                *len = sz;
        return buf;
}

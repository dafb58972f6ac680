#include "state_writer.h"
#include "jsoncheck.h"

#include <json-c/json.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "idmap.h"
#include "kafka_conf.h"
#include "kafka_topics.h"
#include "log.h"
#include "privacy.h"
#include "record.h"
#include "state_table.h"
#include "telnyx_client.h"
#include "timefmt.h"

/* Port-outs fetched per batch at most (the rest wait for the next). */
#define BATCH_MAX 1000
/* Kafka requests (metadata, offsets, commits) give up after this long. */
#define KAFKA_TIMEOUT_MS 15000
/* Every state record of a batch is acknowledged within this, or the batch
 * is abandoned (the office dropped, its offsets not committed). */
#define FLUSH_MS               60000
#define LOAD_MS                120000
#define DEADLINES_EVERY_MS     5000
#define RESYNC_RETRY_MS        60000
#define NOT_COMPACTED_RETRY_MS 60000
#define NOT_FINAL              "pending,authorized,rejected-pending"
/* Deadline events written per look at most (the longest overdue first). */
#define DUE_MAX 64
/* How long a port-out that left pending is still looked at for a
 * threshold it crossed before it left (owed if no writer announced it: a
 * change of writer, or it left between two looks). A change of writer
 * takes seconds; an hour bounds what a long outage announces late. */
#define DEPARTURE_WINDOW_US (INT64_C(3600) * 1000000)

/* One port-out of the current batch, and the last event that named it. */
struct pending {
        pb_idnode_t node;
        char cause[128];
        /* The causing event record's trace context: the state record
         * carries it on (record.h). */
        char traceparent[PB_TRACEPARENT_LEN + 1];
        char tracestate[PB_TRACESTATE_MAX + 1];
        char id[PB_TELNYX_ID_MAX + 1];
};

/* What caused a write: the event's id and trace context, or a resync. */
struct cause {
        const char *id;
        const char *traceparent, *tracestate; /* may be NULL */
};

/* A state record produced, and its delivery report. */
struct write {
        pb_portout_view_t v;
        char *doc; /* the resource's JSON, kept by the table while pending */
        size_t doc_len;
        int acked;
};

struct pb_state {
        const pb_config_t *cfg;
        pb_metrics_t *metrics;
        pb_office_t office; /* the elected replica's, or always (the single instance) */
        pb_telnyx_t *tx;
        rd_kafka_t *prod;
        rd_kafka_t *cons; /* NULL out of office */
        pb_stable_t *table;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        volatile sig_atomic_t stop;
        size_t loaded;         /* records read by the last load */
        struct write **writes; /* produced, waiting for their reports */
        size_t nwrites, capwrites;
        int64_t next_resync_ms, next_deadlines_ms;
        int failed_batches; /* in a row: the pause before the next grows */
        /* Deadline events: a thread of their own, so that no API call (a
         * fetch of this writer, a hanging desk call) delays them. It reads
         * the table under table_lock, which the writer's thread takes to
         * change the table or the announced set; emit_lock is held for a
         * whole look (produce to acknowledgement), and taken by a change of
         * office, so that no look straddles one. */
        pthread_t deadline_thread;
        int deadline_started;
        pthread_mutex_t table_lock, emit_lock;
        pb_deadlines_t *announced; /* read from topics.deadlines on taking office */
        int in_office;             /* under table_lock */
        rd_kafka_t *dprod;         /* the deadline thread's producer */
};

static void count(pb_state_t *s, const char *family, const char *labels, int64_t n)
{
        if (s->metrics && n)
                pb_metrics_add(s->metrics, family, labels, n);
}

static void gauge(pb_state_t *s, const char *family, const char *labels, int64_t v)
{
        if (s->metrics)
                pb_metrics_set(s->metrics, family, labels, v);
}

/* Waits ms or until stopped; returns 1 if stopped. */
static int pause_ms(pb_state_t *s, int64_t ms)
{
        return pb_pause_unless_stopped(&s->cond, &s->lock, &s->stop, ms);
}

/* Runs inside rd_kafka_flush(), on the writer's thread. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        (void)rk;
        (void)opaque;
        struct write *w = m->_private;
        if (m->err)
                pb_warn("state: record for %.*s not written: %s", (int)m->key_len,
                        (const char *)m->key, rd_kafka_err2str(m->err));
        else if (w)
                w->acked = 1;
}

/* --- writing --- */

/* Produces the state record of resource (newer than the table holds). */
static int produce(pb_state_t *s, json_object *resource, const pb_portout_view_t *v,
                   const struct cause *cause)
{
        size_t len;
        char *env = pb_record_state_value(resource, v->id, v->updated_at, cause->id,
                                          s->cfg->envelope_source, &len);
        struct write *w = env ? calloc(1, sizeof(*w)) : NULL;
        if (w && s->nwrites == s->capwrites) {
                size_t cap = s->capwrites ? s->capwrites * 2 : 64;
                struct write **ws = realloc(s->writes, cap * sizeof(struct write *));
                if (!ws) {
                        free(w);
                        w = NULL;
                } else {
                        s->writes = ws;
                        s->capwrites = cap;
                }
        }
        if (!w) {
                free(env);
                return PB_ERR;
        }
        w->v = *v;
        pthread_mutex_lock(&s->table_lock);
        int keep_doc = pb_stable_wants_doc(s->table, v);
        pthread_mutex_unlock(&s->table_lock);
        if (keep_doc) {
                const char *doc = json_object_to_json_string_length(
                    resource, JSON_C_TO_STRING_PLAIN, &w->doc_len);
                w->doc = doc ? strdup(doc) : NULL;
                if (!w->doc)
                        w->doc_len = 0;
        }
        pb_record_out_t rec;
        pb_record_state(&rec, s->cfg->topic_state, s->cfg->envelope_source, v->id, v->updated_at,
                        cause->id, cause->traceparent, cause->tracestate, env, len);
        rd_kafka_headers_t *h = rd_kafka_headers_new(rec.rec.headers_cnt);
        for (size_t i = 0; i < rec.rec.headers_cnt; i++)
                rd_kafka_header_add(h, rec.rec.headers[i].name, -1, rec.rec.headers[i].value, -1);
        rd_kafka_resp_err_t err = rd_kafka_producev(
            s->prod, RD_KAFKA_V_TOPIC(s->cfg->topic_state), RD_KAFKA_V_KEY(v->id, strlen(v->id)),
            RD_KAFKA_V_VALUE(env, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(w), RD_KAFKA_V_END);
        if (err) {
                pb_warn("state: cannot produce the record of %s: %s", v->id, rd_kafka_err2str(err));
                rd_kafka_headers_destroy(h);
                free(env);
                free(w->doc);
                free(w);
                return PB_ERR;
        }
        s->writes[s->nwrites++] = w;
        return 0;
}

/* Waits for every record produced since the last call; the table takes each
 * one acknowledged, so it holds exactly what the topic holds. Returns PB_ERR
 * if any was not. */
static int settle(pb_state_t *s)
{
        if (!s->nwrites)
                return 0;
        rd_kafka_flush(s->prod, FLUSH_MS);
        size_t ok = 0;
        pthread_mutex_lock(&s->table_lock);
        for (size_t i = 0; i < s->nwrites; i++) {
                struct write *w = s->writes[i];
                if (w->acked && pb_stable_put_doc(s->table, &w->v, w->doc, w->doc_len) >= 0)
                        ok++;
                free(w->doc);
                free(w);
        }
        pthread_mutex_unlock(&s->table_lock);
        count(s, "portout_bridge_state_fetches_total", "outcome=\"written\"", (int64_t)ok);
        int rc = ok == s->nwrites ? 0 : PB_ERR;
        s->nwrites = 0;
        return rc;
}

/* Answers of the API that cannot be a port-out's state: skipped, counted,
 * logged within a budget. */
static pb_log_limit_t invalid_log = PB_LOG_LIMIT_INIT;

static void skip_invalid(pb_state_t *s, const char *why)
{
        count(s, "portout_bridge_state_fetches_total", "outcome=\"invalid\"", 1);
        pb_log_limited(&invalid_log, PB_LOG_WARN,
                       "state: %s; skipped (the next event of it, or "
                       "a resync, fetches it again)",
                       why);
}

/* Writes the resource if it is newer. Returns 0 (written, or nothing new),
 * SKIPPED (not a port-out's state: skipped, counted) or PB_ERR (a refused
 * produce). want_id: the port-out asked for (NULL: any, a resync's list). */
#define SKIPPED 1
static int offer(pb_state_t *s, json_object *resource, const char *want_id,
                 const struct cause *cause)
{
        pb_portout_view_t v;
        char err[PB_ERRSZ];
        if (pb_portout_view(resource, &v, err, sizeof(err))) {
                skip_invalid(s, err);
                return SKIPPED;
        }
        if (want_id && strcmp(v.id, want_id) != 0) {
                snprintf(err, sizeof(err), "GET /portouts/%s answered port-out %s", want_id, v.id);
                skip_invalid(s, err);
                return SKIPPED;
        }
        if (!pb_stable_newer(s->table, &v)) {
                count(s, "portout_bridge_state_fetches_total", "outcome=\"unchanged\"", 1);
                return 0;
        }
        if (!pb_privacy_active(s->cfg->privacy))
                return produce(s, resource, &v, cause);
        json_object *copy = NULL; /* the policy on a copy: the answer stays as Telnyx sent it */
        if (json_object_deep_copy(resource, &copy, NULL) != 0)
                return PB_ERR;
        pb_privacy_apply(s->cfg->privacy, copy);
        int rc = produce(s, copy, &v, cause);
        json_object_put(copy);
        return rc;
}

/* --- office --- */

static int learn_state(void *ctx, const rd_kafka_message_t *m, char *errstr, size_t errsz)
{
        (void)errstr;
        (void)errsz;
        pb_state_t *s = ctx;
        char why[PB_ERRSZ];
        json_object *o = pb_json_parse(m->payload, m->len, why, sizeof(why));
        json_object *data = NULL;
        pb_portout_view_t v;
        s->loaded++;
        if (o && json_object_object_get_ex(o, "data", &data) &&
            pb_portout_view(data, &v, NULL, 0) == 0) {
                size_t dl = 0;
                pthread_mutex_lock(&s->table_lock);
                const char *doc =
                    pb_stable_wants_doc(s->table, &v)
                        ? json_object_to_json_string_length(data, JSON_C_TO_STRING_PLAIN, &dl)
                        : NULL;
                pb_stable_put_doc(s->table, &v, doc, dl);
                pthread_mutex_unlock(&s->table_lock);
        } else
                pb_warn("state: a record of %s at offset %lld is not a state record; skipped",
                        s->cfg->topic_state, (long long)m->offset);
        json_object_put(o);
        return 0;
}

/* Reads topics.state from its beginning to the ends it has now into the
 * table (the writer is the only one adding to it). */
static int load_table(pb_state_t *s, char *errstr, size_t errsz)
{
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
        s->loaded = 0;
        int rc = pb_kafka_partitions(s->cons, s->cfg->topic_state, KAFKA_TIMEOUT_MS, l,
                                     RD_KAFKA_OFFSET_BEGINNING, errstr, errsz) < 0 ||
                         pb_kafka_read_to_end(s->cons, l, LOAD_MS, &s->stop, learn_state, s, NULL,
                                              errstr, errsz)
                     ? PB_ERR
                     : 0;
        rd_kafka_topic_partition_list_destroy(l);
        if (!rc)
                pb_info("state: %zu port-out(s) loaded from %zu record(s) of %s",
                        pb_stable_size(s->table), s->loaded, s->cfg->topic_state);
        return rc;
}

/* A record of topics.deadlines: the pair it announces is known. */
static int learn_deadline(void *ctx, const rd_kafka_message_t *m, char *errstr, size_t errsz)
{
        pb_state_t *s = ctx;
        pb_record_view_t rv;
        char id[PB_TELNYX_ID_MAX + 1];
        int64_t thr;
        pb_record_read_kafka(m, &rv);
        s->loaded++;
        if (rv.kind == PB_RECORD_DEADLINE && pb_deadline_id_parse(rv.id, id, &thr) == 0 &&
            pb_deadlines_mark(s->announced, id, thr) < 0)
                return pb_seterr(errstr, errsz, "out of memory");
        return 0;
}

/* Creates topics.deadlines if missing and reads it whole: what is announced
 * there is never announced again. */
static int load_announced(pb_state_t *s, char *errstr, size_t errsz)
{
        const char *topic = s->cfg->topic_deadlines;
        if (pb_kafka_ensure_topic(s->prod, topic, -1, 0, errstr, errsz))
                return PB_ERR;
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
        s->loaded = 0;
        int n = pb_kafka_partitions(s->cons, topic, KAFKA_TIMEOUT_MS, l, RD_KAFKA_OFFSET_BEGINNING,
                                    errstr, errsz);
        if (n == 0)
                pb_seterr(errstr, errsz, "state: topic %s has no partition with a leader yet",
                          topic);
        /* The writer's thread alone changes the set; the deadline thread
         * reads it only in office, which this is not yet. */
        int rc = n <= 0 || pb_kafka_read_to_end(s->cons, l, LOAD_MS, &s->stop, learn_deadline, s,
                                                NULL, errstr, errsz)
                     ? PB_ERR
                     : 0;
        rd_kafka_topic_partition_list_destroy(l);
        if (!rc)
                pb_info("state: %zu deadline event(s) known from %zu record(s) of %s",
                        pb_deadlines_size(s->announced), s->loaded, topic);
        return rc;
}

/* Assigns the event topics from state.group's committed offsets (their
 * beginning where it has none). */
static int follow_events(pb_state_t *s, char *errstr, size_t errsz)
{
        const pb_config_t *c = s->cfg;
        const char *topics[PB_CONFIG_EVENT_TOPICS];
        pb_config_event_topics(c, topics);
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
        int rc = 0;
        for (size_t i = 0; i < PB_CONFIG_EVENT_TOPICS && !rc; i++) {
                int seen = 0; /* two event types may share a topic: assigned once */
                for (size_t k = 0; k < i; k++)
                        seen |= !strcmp(topics[k], topics[i]);
                if (seen)
                        continue;
                int n = pb_kafka_partitions(s->cons, topics[i], KAFKA_TIMEOUT_MS, l,
                                            RD_KAFKA_OFFSET_INVALID, errstr, errsz);
                if (n == 0)
                        pb_seterr(errstr, errsz, "state: topic %s does not exist", topics[i]);
                rc = n > 0 ? 0 : PB_ERR;
        }
        rd_kafka_resp_err_t err = rc ? 0 : rd_kafka_committed(s->cons, l, KAFKA_TIMEOUT_MS);
        if (err)
                rc = pb_seterr(errstr, errsz, "state: committed offsets of %s: %s", c->state_group,
                               rd_kafka_err2str(err));
        for (int i = 0; !rc && i < l->cnt; i++)
                if (l->elems[i].offset < 0)
                        l->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        if (!rc && (err = rd_kafka_assign(s->cons, l)))
                rc = pb_seterr(errstr, errsz, "state: assign: %s", rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(l);
        return rc;
}

static void leave_office(pb_state_t *s, const char *why)
{
        if (!s->cons)
                return;
        pb_info("state: not writing %s (%s)", s->cfg->topic_state, why);
        rd_kafka_flush(s->prod, FLUSH_MS); /* nothing in flight behind the next load */
        rd_kafka_destroy(s->cons);         /* nothing committed that was not written */
        s->cons = NULL;
        pthread_mutex_lock(&s->emit_lock); /* a look in progress ends first */
        pthread_mutex_lock(&s->table_lock);
        s->in_office = 0;
        pb_stable_free(s->table);
        s->table = pb_stable_new();
        pb_deadlines_free(s->announced);
        s->announced = pb_deadlines_new();
        pthread_mutex_unlock(&s->table_lock);
        pthread_mutex_unlock(&s->emit_lock);
        gauge(s, "portout_bridge_state_writer", NULL, 0);
}

static rd_kafka_t *consumer_new(pb_state_t *s, char *errstr, size_t errsz)
{
        /* assign() only: nothing joins the group; its offsets are the
         * position. A batch takes at most BATCH_MAX port-outs: no need for
         * librdkafka's default 64 MiB of prefetched records. */
        pb_consumer_spec_t spec = {
            .role = "state",
            .group_id = s->cfg->state_group,
            .partition_eof = 1,
            .queued_max_kbytes = "1024",
        };
        return pb_kafka_consumer_new(s->cfg, &spec, errstr, errsz);
}

/* Returns 0, PB_ERR, or PB_KAFKA_NOT_COMPACTED: the state topic is not a
 * table, and the writer will not write it until it is. */
static int take_office(pb_state_t *s)
{
        char err[PB_ERRSZ];
        int topic = 0;
        s->cons = consumer_new(s, err, sizeof(err));
        if (!s->cons ||
            (topic = pb_kafka_ensure_topic(s->prod, s->cfg->topic_state, -1, 1, err,
                                           sizeof(err))) != 0 ||
            load_table(s, err, sizeof(err)) || load_announced(s, err, sizeof(err)) ||
            follow_events(s, err, sizeof(err))) {
                if (topic == PB_KAFKA_NOT_COMPACTED)
                        pb_err("state: not writing: %s (checked again every %d s)", err,
                               NOT_COMPACTED_RETRY_MS / 1000);
                else if (!s->stop)
                        pb_warn("state: cannot take office: %s", err);
                if (s->cons)
                        leave_office(s, "could not start");
                return topic == PB_KAFKA_NOT_COMPACTED ? topic : PB_ERR;
        }
        pb_info("state: writing %s (%zu port-out(s) known)", s->cfg->topic_state,
                pb_stable_size(s->table));
        pthread_mutex_lock(&s->table_lock);
        s->in_office = 1;
        pthread_mutex_unlock(&s->table_lock);
        gauge(s, "portout_bridge_state_writer", NULL, 1);
        s->next_resync_ms = pb_mono_ms();
        return 0;
}

/* --- batches --- */

/* One event record: its port-out (the key) joins the batch. */
static void take_record(pb_idmap_t *batch, const rd_kafka_message_t *m)
{
        char id[PB_TELNYX_ID_MAX + 1];
        if (!m->key || m->key_len == 0 || m->key_len > PB_TELNYX_ID_MAX)
                return;
        memcpy(id, m->key, m->key_len);
        id[m->key_len] = '\0';
        if (!pb_telnyx_id_valid(id))
                return; /* not a port-out id (a record of another producer) */
        struct pending *p = (struct pending *)pb_idmap_get(batch, id);
        if (!p) {
                p = calloc(1, sizeof(*p));
                if (!p)
                        return;
                memcpy(p->id, id, m->key_len + 1);
                pb_idmap_add(batch, &p->node);
        }
        pb_record_view_t rv;
        pb_record_read_kafka(m, &rv);
        snprintf(p->cause, sizeof(p->cause), "%s", rv.id);
        snprintf(p->traceparent, sizeof(p->traceparent), "%s", rv.traceparent);
        snprintf(p->tracestate, sizeof(p->tracestate), "%s", rv.tracestate);
}

static void keep_position(rd_kafka_topic_partition_list_t *pos, const rd_kafka_message_t *m)
{
        const char *topic = rd_kafka_topic_name(m->rkt);
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_find(pos, topic, m->partition);
        if (!p)
                p = rd_kafka_topic_partition_list_add(pos, topic, m->partition);
        p->offset = m->offset + 1;
}

/* Fetches and writes every port-out of the batch; PB_ERR if one could not
 * be fetched (the API or the network failing: the batch is tried again) or
 * written. An answer that cannot be a port-out's state (no "data", no valid
 * id or another one, an updated_at that is not RFC 3339) or a request the
 * API refuses for good (4xx) concerns that port-out alone: it is skipped,
 * counted and logged, and the batch goes on: one bad port-out must not
 * stop the table. */
static int write_batch(pb_state_t *s, pb_idmap_t *batch)
{
        char err[PB_ERRSZ];
        for (size_t b = 0; b < batch->nbuckets; b++)
                for (pb_idnode_t *n = batch->buckets[b]; n; n = n->chain) {
                        struct pending *p = (struct pending *)n;
                        json_object *o = NULL, *data = NULL;
                        count(s, "portout_bridge_state_api_calls_total", NULL, 1);
                        pb_tx_rc_t rc = pb_telnyx_get_portout(s->tx, p->id, &o, err, sizeof(err));
                        if (rc == PB_TX_NOT_FOUND) {
                                pb_warn("state: port-out %s: not found at Telnyx", p->id);
                                count(s, "portout_bridge_state_fetches_total",
                                      "outcome=\"not_found\"", 1);
                                continue;
                        }
                        if (rc == PB_TX_REJECTED) {
                                char why[PB_ERRSZ + 64];
                                snprintf(why, sizeof(why), "port-out %s: %s", p->id, err);
                                skip_invalid(s, why);
                                continue;
                        }
                        if (rc != PB_TX_OK) {
                                if (!s->stop)
                                        pb_warn("state: port-out %s: %s", p->id, err);
                                count(s, "portout_bridge_state_fetches_total", "outcome=\"failed\"",
                                      1);
                                settle(s);
                                return PB_ERR;
                        }
                        if (!pb_office_held(&s->office)) {
                                json_object_put(o); /* no longer the writer */
                                settle(s);
                                return PB_ERR;
                        }
                        int rcv;
                        if (!json_object_object_get_ex(o, "data", &data)) {
                                snprintf(err, sizeof(err),
                                         "GET /portouts/%s: no \"data\" in the answer", p->id);
                                skip_invalid(s, err);
                                rcv = SKIPPED;
                        } else {
                                struct cause c = {p->cause[0] ? p->cause : "unknown",
                                                  p->traceparent, p->tracestate};
                                rcv = offer(s, data, p->id, &c);
                        }
                        json_object_put(o);
                        if (rcv == PB_ERR) { /* a refused produce */
                                settle(s);
                                return PB_ERR;
                        }
                }
        return settle(s);
}

/* Reads event records for state.coalesce_ms (at most BATCH_MAX port-outs),
 * writes what changed, then commits the position. */
static int run_batch(pb_state_t *s)
{
        pb_idmap_t batch;
        if (pb_idmap_init(&batch, offsetof(struct pending, id)))
                return PB_ERR;
        rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_new(16);
        int64_t until =
            pb_mono_ms() + (s->cfg->state_coalesce_ms > 0 ? s->cfg->state_coalesce_ms : 50);
        int64_t records = 0;
        while (!s->stop && batch.size < BATCH_MAX) {
                int64_t left = until - pb_mono_ms();
                if (left <= 0)
                        break;
                rd_kafka_message_t *m = rd_kafka_consumer_poll(s->cons, (int)left);
                if (!m)
                        continue;
                if (!m->err) {
                        take_record(&batch, m);
                        keep_position(pos, m);
                        records++;
                } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        pb_warn("state: %s", rd_kafka_message_errstr(m));
                }
                rd_kafka_message_destroy(m);
        }
        count(s, "portout_bridge_state_events_total", NULL, records);
        int rc = s->stop ? PB_ERR : batch.size ? write_batch(s, &batch) : 0;
        if (!rc && pos->cnt) {
                rd_kafka_resp_err_t err = rd_kafka_commit(s->cons, pos, 0);
                if (err) {
                        pb_warn("state: cannot commit the position in %s: %s", s->cfg->state_group,
                                rd_kafka_err2str(err));
                        rc = PB_ERR;
                }
        }
        rd_kafka_topic_partition_list_destroy(pos);
        pb_idmap_destroy_all(&batch, NULL);
        return rc;
}

/* Lists the port-outs that are not final and writes the ones that changed. */
static int resync(pb_state_t *s)
{
        char err[PB_ERRSZ];
        size_t seen = 0;
        for (long page = 1; !s->stop; page++) {
                json_object *o = NULL, *data = NULL, *meta = NULL, *tp = NULL;
                count(s, "portout_bridge_state_api_calls_total", NULL, 1);
                if (pb_telnyx_list_portouts(s->tx, NOT_FINAL, page, 250, &o, err, sizeof(err))) {
                        if (!s->stop)
                                pb_warn("state: resync: %s", err);
                        settle(s); /* what was written is known */
                        return PB_ERR;
                }
                size_t n = 0;
                if (json_object_object_get_ex(o, "data", &data) &&
                    json_object_is_type(data, json_type_array))
                        n = json_object_array_length(data);
                for (size_t i = 0; i < n; i++)
                        offer(s, json_object_array_get_idx(data, i), NULL,
                              &(struct cause){"resync", NULL, NULL});
                seen += n;
                json_object_object_get_ex(o, "meta", &meta);
                long pages = meta && json_object_object_get_ex(meta, "total_pages", &tp)
                                 ? (long)json_object_get_int64(tp)
                                 : -1;
                json_object_put(o);
                if (n == 0 || (pages > 0 && page >= pages) || (pages < 0 && n < 250))
                        break;
        }
        size_t written = s->nwrites;
        if (settle(s))
                return PB_ERR;
        pb_info("state: resync read %zu port-out(s) that are not final, %zu changed", seen,
                written);
        return s->stop ? PB_ERR : 0;
}

static void crossed(void *ctx, const pb_portout_view_t *v, int64_t age_us)
{
        pb_state_t *s = ctx;
        pb_warn("state: port-out %s has been pending for %lld s (over state.pending_alert_s = "
                "%lld): unanswered, Telnyx authorizes it after 24 to 48 hours",
                v->id, (long long)(age_us / 1000000), (long long)s->cfg->state_pending_alert_s);
}

static void deadlines(pb_state_t *s)
{
        pb_stable_deadlines_t d;
        pb_stable_deadlines(s->table, pb_now_ms() * 1000, s->cfg->state_pending_alert_s * 1000000,
                            &d, crossed, s);
        for (size_t i = 0; pb_portout_statuses[i]; i++) {
                char labels[64];
                snprintf(labels, sizeof(labels), "status=\"%s\"", pb_portout_statuses[i]);
                gauge(s, "portout_bridge_state_portouts", labels, (int64_t)d.by_status[i]);
        }
        gauge(s, "portout_bridge_state_oldest_pending_seconds", NULL,
              d.oldest_pending_us / 1000000);
        gauge(s, "portout_bridge_state_pending_over_threshold", NULL, (int64_t)d.over_threshold);
        int watched = d.nearest_foc_us != INT64_MAX;
        gauge(s, "portout_bridge_state_foc_watched", NULL, watched);
        gauge(s, "portout_bridge_state_nearest_foc_seconds", NULL,
              watched ? d.nearest_foc_us / 1000000 : 0);
}

/* --- deadline events --- */

/* Runs inside the deadline producer's flush, on the deadline thread. */
static void on_deadline_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        (void)rk;
        (void)opaque;
        int *acked = m->_private;
        if (m->err)
                pb_warn("state: deadline event for %.*s not written: %s", (int)m->key_len,
                        (const char *)m->key, rd_kafka_err2str(m->err));
        else if (acked)
                *acked = 1;
}

/* Writes one due deadline event; 0 if produced (its report sets *acked). */
static int produce_deadline(pb_state_t *s, const pb_deadline_due_t *d, int *acked)
{
        const pb_config_t *c = s->cfg;
        char at[40], auto_at[40];
        int64_t created = d->v.created_us;
        if (pb_time_format_us(created + d->threshold_s * 1000000, at, sizeof(at)) ||
            pb_time_format_us(created + c->desk_auto_authorize_after_s * 1000000, auto_at,
                              sizeof(auto_at)))
                return PB_ERR;
        size_t len;
        char *value =
            pb_record_deadline_value(d->doc, d->doc_len, d->v.id, d->threshold_s,
                                     d->age_us / 1000000, at, auto_at, c->envelope_source, &len);
        if (!value)
                return PB_ERR;
        pb_record_out_t rec;
        pb_record_deadline(&rec, c->topic_deadlines, c->envelope_source, d->v.id, d->threshold_s,
                           at, value, len);
        rd_kafka_headers_t *h = rd_kafka_headers_new(rec.rec.headers_cnt);
        for (size_t i = 0; i < rec.rec.headers_cnt; i++)
                rd_kafka_header_add(h, rec.rec.headers[i].name, -1, rec.rec.headers[i].value, -1);
        rd_kafka_resp_err_t err = rd_kafka_producev(
            s->dprod, RD_KAFKA_V_TOPIC(c->topic_deadlines),
            RD_KAFKA_V_KEY(d->v.id, strlen(d->v.id)), RD_KAFKA_V_VALUE(value, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_HEADERS(h),
            RD_KAFKA_V_OPAQUE(acked), RD_KAFKA_V_END);
        if (err) {
                pb_warn("state: cannot produce the deadline event of %s: %s", d->v.id,
                        rd_kafka_err2str(err));
                rd_kafka_headers_destroy(h);
                free(value);
                return PB_ERR;
        }
        return 0;
}

/* One look at the table: every threshold due and not announced is written,
 * and marked announced once Kafka acknowledged it. Runs under emit_lock. */
static void look_deadlines(pb_state_t *s)
{
        const pb_config_t *c = s->cfg;
        pb_deadline_due_t due[DUE_MAX];
        int acked[DUE_MAX] = {0};
        size_t n = 0;
        int64_t now_us = pb_now_ms() * 1000;
        pthread_mutex_lock(&s->table_lock);
        if (s->table)
                pb_stable_forget_departures(s->table, now_us - DEPARTURE_WINDOW_US);
        if (s->in_office && s->table && s->announced)
                pb_deadlines_due(s->announced, s->table, c->desk_warn_s, c->desk_warn_n, now_us,
                                 due, DUE_MAX, &n);
        pthread_mutex_unlock(&s->table_lock);
        if (!n)
                return;
        /* Kafka's word first, as the desk asks it (office.h): a writer paused
         * past the session timeout, deposed without having heard of it,
         * writes nothing the writer in office announces too. A commit in the
         * election's group on topics.deadlines, which nothing reads there. */
        char err[PB_ERRSZ];
        if (pb_office_fence(&s->office, c->topic_deadlines, 0, 0, "deadline", err, sizeof(err))) {
                pb_warn("state: not writing %zu deadline event(s): %s", n, err);
                count(s, "portout_bridge_deadline_events_total", "outcome=\"fenced\"", (int64_t)n);
                pb_deadlines_due_clear(due, n);
                return;
        }
        size_t sent = 0;
        for (size_t i = 0; i < n && !s->stop; i++) {
                if (!pb_office_held(&s->office))
                        break; /* no longer the writer: the next one announces it */
                if (produce_deadline(s, &due[i], &acked[i]) == 0)
                        sent++;
        }
        if (sent)
                rd_kafka_flush(s->dprod, FLUSH_MS);
        int64_t written = 0, worst_lag_s = 0;
        pthread_mutex_lock(&s->table_lock);
        for (size_t i = 0; i < n; i++) {
                if (!acked[i])
                        continue;
                written++;
                if (s->in_office && s->announced)
                        pb_deadlines_mark(s->announced, due[i].v.id, due[i].threshold_s);
                int64_t lag = due[i].age_us / 1000000 - due[i].threshold_s;
                if (lag > worst_lag_s)
                        worst_lag_s = lag;
                pb_info("state: deadline: port-out %s pending for %lld s (threshold %lld s)",
                        due[i].v.id, (long long)(due[i].age_us / 1000000),
                        (long long)due[i].threshold_s);
        }
        pthread_mutex_unlock(&s->table_lock);
        count(s, "portout_bridge_deadline_events_total", "outcome=\"written\"", written);
        count(s, "portout_bridge_deadline_events_total", "outcome=\"failed\"",
              (int64_t)n - written);
        if (written)
                gauge(s, "portout_bridge_deadline_last_lag_seconds", NULL, worst_lag_s);
        pb_deadlines_due_clear(due, n);
}

/* Looks often enough that a threshold is announced within
 * desk.deadline_lag_s: four looks per lag, at most every 5 s. */
static void *deadline_main(void *arg)
{
        pb_state_t *s = arg;
        int64_t every = s->cfg->desk_deadline_lag_s * 1000 / 4;
        if (every > DEADLINES_EVERY_MS)
                every = DEADLINES_EVERY_MS;
        if (every < 250)
                every = 250;
        while (!pause_ms(s, every)) {
                pthread_mutex_lock(&s->emit_lock);
                look_deadlines(s);
                pthread_mutex_unlock(&s->emit_lock);
        }
        return NULL;
}

static void *state_main(void *arg)
{
        pb_state_t *s = arg;
        while (!s->stop) {
                pb_office_rc_t may = pb_office_check(&s->office, s->cons != NULL);
                if (may != PB_OFFICE_ACT) {
                        leave_office(s, pb_office_why(may));
                        if (may == PB_OFFICE_NONE)
                                pause_ms(s, 500);
                        continue;
                }
                int office = s->cons ? 0 : take_office(s);
                if (office) {
                        pause_ms(s,
                                 office == PB_KAFKA_NOT_COMPACTED ? NOT_COMPACTED_RETRY_MS : 2000);
                        continue;
                }
                int64_t now = pb_mono_ms();
                if (now >= s->next_resync_ms) {
                        int64_t every = s->cfg->state_resync_interval_s * 1000;
                        s->next_resync_ms = resync(s)   ? now + RESYNC_RETRY_MS
                                            : every > 0 ? now + every
                                                        : INT64_MAX;
                }
                if (run_batch(s)) {
                        /* The API or Kafka failing: again after 1 s, then
                         * longer each time (up to a minute), not every second
                         * forever against a quota. */
                        int64_t wait = (int64_t)1000
                                       << (s->failed_batches < 6 ? s->failed_batches : 6);
                        s->failed_batches++;
                        leave_office(s, s->stop ? "stopping" : "a batch failed; starting again");
                        pause_ms(s, wait < 60000 ? wait : 60000);
                        continue;
                }
                s->failed_batches = 0;
                if (now >= s->next_deadlines_ms) {
                        deadlines(s);
                        s->next_deadlines_ms = now + DEADLINES_EVERY_MS;
                }
        }
        leave_office(s, "stopping");
        return NULL;
}

/* The deadline thread's producer: topics.deadlines only, created by the
 * writer's thread (never by a metadata request). */
static rd_kafka_t *deadline_producer(pb_state_t *s, char *errstr, size_t errsz)
{
        char e[512];
        rd_kafka_t *rk = NULL;
        rd_kafka_conf_t *conf = pb_kafka_conf(s->cfg, 1, errstr, errsz);
        if (!conf)
                return NULL;
        rd_kafka_conf_set_dr_msg_cb(conf, on_deadline_delivery);
        if (rd_kafka_conf_set(conf, "statistics.interval.ms", "0", e, sizeof(e)) ||
            rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", e, sizeof(e)) ||
            rd_kafka_conf_set(conf, "client.id", PB_NAME "-deadlines", e, sizeof(e)) ||
            !(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e)))) {
                rd_kafka_conf_destroy(conf);
                pb_seterr(errstr, errsz, "state: cannot create the deadline producer: %s", e);
        }
        return rk;
}

static void release(pb_state_t *s)
{
        if (s->prod)
                rd_kafka_destroy(s->prod);
        if (s->dprod)
                rd_kafka_destroy(s->dprod);
        pb_deadlines_free(s->announced);
        pthread_mutex_destroy(&s->table_lock);
        pthread_mutex_destroy(&s->emit_lock);
        pb_telnyx_free(s->tx);
        pb_stable_free(s->table);
        for (size_t i = 0; i < s->nwrites; i++) {
                free(s->writes[i]->doc);
                free(s->writes[i]);
        }
        free(s->writes);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->cond);
        free(s);
}

pb_state_t *pb_state_new(const pb_config_t *cfg, pb_metrics_t *metrics, pb_leader_fn *leader,
                         pb_fence_fn *fence, void *leader_ctx, pb_fail_t *fail, char *errstr,
                         size_t errsz)
{
        pb_state_t *s = calloc(1, sizeof(*s));
        if (!s) {
                pb_setfail(fail, PB_FAIL_SYSTEM, errstr, errsz, "out of memory");
                return NULL;
        }
        s->cfg = cfg;
        s->metrics = metrics;
        if (metrics) { /* exported from the start, at 0 */
                pb_metrics_add(metrics, "portout_bridge_deadline_events_total",
                               "outcome=\"written\"", 0);
                pb_metrics_add(metrics, "portout_bridge_deadline_events_total",
                               "outcome=\"failed\"", 0);
                pb_metrics_add(metrics, "portout_bridge_deadline_events_total",
                               "outcome=\"fenced\"", 0);
        }
        pb_office_init(&s->office, leader, fence, leader_ctx);
        pthread_mutex_init(&s->lock, NULL);
        pthread_mutex_init(&s->table_lock, NULL);
        pthread_mutex_init(&s->emit_lock, NULL);
        pb_cond_init(&s->cond);
        if (fail)
                *fail = PB_FAIL_CONFIG;
        char e[512];
        s->table = pb_stable_new();
        s->announced = pb_deadlines_new();
        s->tx = pb_telnyx_new(cfg, errstr, errsz);
        rd_kafka_conf_t *conf =
            s->tx && s->table && s->announced ? pb_kafka_conf(cfg, 1, errstr, errsz) : NULL;
        if (conf) {
                rd_kafka_conf_set_opaque(conf, s);
                rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
                /* It writes the state topic only, created compacted by us:
                 * a metadata request must never create it otherwise. */
                if (rd_kafka_conf_set(conf, "statistics.interval.ms", "0", e, sizeof(e)) ||
                    rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", e, sizeof(e)) ||
                    rd_kafka_conf_set(conf, "client.id", PB_NAME "-state", e, sizeof(e)) ||
                    !(s->prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e)))) {
                        rd_kafka_conf_destroy(conf);
                        pb_seterr(errstr, errsz, "state: cannot create the producer: %s", e);
                }
        }
        if (s->prod && !(s->dprod = deadline_producer(s, errstr, errsz)))
                rd_kafka_destroy(s->prod), s->prod = NULL;
        if (!s->prod) {
                release(s);
                return NULL;
        }
        pb_telnyx_set_abort_flag(s->tx, &s->stop);
        if (pthread_create(&s->deadline_thread, NULL, deadline_main, s)) {
                pb_setfail(fail, PB_FAIL_SYSTEM, errstr, errsz, "cannot start the deadline thread");
                release(s);
                return NULL;
        }
        s->deadline_started = 1;
        if (pthread_create(&s->thread, NULL, state_main, s)) {
                pb_setfail(fail, PB_FAIL_SYSTEM, errstr, errsz, "cannot start the state thread");
                pthread_mutex_lock(&s->lock);
                s->stop = 1;
                pthread_cond_broadcast(&s->cond);
                pthread_mutex_unlock(&s->lock);
                pthread_join(s->deadline_thread, NULL);
                release(s);
                return NULL;
        }
        return s;
}

void pb_state_free(pb_state_t *s)
{
        if (!s)
                return;
        pthread_mutex_lock(&s->lock);
        s->stop = 1;
        pthread_cond_broadcast(&s->cond); /* both threads wait on it */
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
        if (s->deadline_started)
                pthread_join(s->deadline_thread, NULL);
        release(s);
}

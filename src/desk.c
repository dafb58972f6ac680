#include "desk.h"

#include <json-c/json.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desk_command.h"
#include "idmap.h"
#include "jsoncheck.h"
#include "kafka_check.h"
#include "kafka_conf.h"
#include "kafka_topics.h"
#include "log.h"
#include "record.h"
#include "telnyx_client.h"
#include "timefmt.h"

#define KAFKA_TIMEOUT_MS 15000
#define FLUSH_MS         30000
#define LOAD_MS          120000
/* Partitions of the commands topic the desk keeps an intent for. */
#define MAX_PARTITIONS 256
/* A command's result is named by its id, or by its record when it has
 * none ("@<partition>:<offset>"): '@' is in no command id. */
#define KEY_MAX       (PB_COMMAND_ID_MAX + 48)
#define RESULT_PREFIX "result-of:"
/* take_office(): the desk may not write its results. */
#define NO_RIGHT (-3)

struct done {
        pb_idnode_t node;
        char key[KEY_MAX + 1];
};

struct pb_desk {
        const pb_config_t *cfg;
        pb_metrics_t *metrics;
        pb_office_t office; /* the elected replica's, or always (the single instance) */
        pb_telnyx_t *tx;
        rd_kafka_t *prod;
        rd_kafka_t *cons; /* NULL out of office */
        pthread_t thread;
        int started;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        volatile sig_atomic_t stop;
        pb_idmap_t done; /* keys with a result in the topic */
        /* per partition: the command committed as "calling", "" if none */
        char calling[MAX_PARTITIONS][PB_COMMAND_ID_MAX + 1];
        size_t loaded;
};

static void count(pb_desk_t *d, const char *family, const char *labels, int64_t n)
{
        if (d->metrics && n)
                pb_metrics_add(d->metrics, family, labels, n);
}

static int pause_ms(pb_desk_t *d, int64_t ms)
{
        return pb_pause_unless_stopped(&d->cond, &d->lock, &d->stop, ms);
}

static int is_done(const pb_desk_t *d, const char *key)
{
        return pb_idmap_get(&d->done, key) != NULL;
}

static int mark_done(pb_desk_t *d, const char *key)
{
        if (is_done(d, key))
                return 0;
        struct done *n = calloc(1, sizeof(*n));
        if (!n)
                return PB_ERR;
        snprintf(n->key, sizeof(n->key), "%s", key);
        pb_idmap_add(&d->done, &n->node);
        return 0;
}

static void clear_done(pb_desk_t *d)
{
        pb_idmap_destroy_all(&d->done, NULL);
        pb_idmap_init(&d->done, offsetof(struct done, key));
}

/* --- office --- */

static int learn_result(void *ctx, const rd_kafka_message_t *m, char *errstr, size_t errsz)
{
        pb_desk_t *d = ctx;
        pb_record_view_t rv;
        pb_record_read_kafka(m, &rv);
        d->loaded++;
        size_t pl = strlen(RESULT_PREFIX);
        if (rv.kind == PB_RECORD_COMMAND_RESULT && !strncmp(rv.id, RESULT_PREFIX, pl) &&
            mark_done(d, rv.id + pl))
                return pb_seterr(errstr, errsz, "out of memory");
        return 0;
}

/* Assigns topics.commands from desk.group's committed offsets (their
 * beginning where it has none), and learns each partition's intent. */
static int follow_commands(pb_desk_t *d, char *errstr, size_t errsz)
{
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
        int n = pb_kafka_partitions(d->cons, d->cfg->topic_commands, KAFKA_TIMEOUT_MS, l,
                                    RD_KAFKA_OFFSET_INVALID, errstr, errsz);
        int rc = n > 0 ? 0 : PB_ERR;
        if (n == 0)
                pb_seterr(errstr, errsz, "desk: topic %s has no partition with a leader yet",
                          d->cfg->topic_commands);
        rd_kafka_resp_err_t err = rc ? 0 : rd_kafka_committed(d->cons, l, KAFKA_TIMEOUT_MS);
        if (err)
                rc = pb_seterr(errstr, errsz, "desk: committed offsets of %s: %s",
                               d->cfg->desk_group, rd_kafka_err2str(err));
        memset(d->calling, 0, sizeof(d->calling));
        for (int i = 0; !rc && i < l->cnt; i++) {
                rd_kafka_topic_partition_t *p = &l->elems[i];
                if (p->partition >= MAX_PARTITIONS) {
                        rc = pb_seterr(errstr, errsz, "desk: %s has more than %d partitions",
                                       d->cfg->topic_commands, MAX_PARTITIONS);
                        break;
                }
                if (p->offset < 0)
                        p->offset = RD_KAFKA_OFFSET_BEGINNING;
                char why[PB_ERRSZ];
                json_object *meta =
                    p->metadata && p->metadata_size
                        ? pb_json_parse(p->metadata, p->metadata_size, why, sizeof(why))
                        : NULL;
                json_object *v = NULL;
                if (meta && json_object_object_get_ex(meta, "calling", &v) &&
                    json_object_is_type(v, json_type_string) &&
                    pb_command_id_valid(json_object_get_string(v))) {
                        snprintf(d->calling[p->partition], sizeof(d->calling[0]), "%s",
                                 json_object_get_string(v));
                        pb_warn("desk: command %s (%s [%d] at offset %lld) was being called "
                                "when the last desk stopped: it is settled by reading the "
                                "port-out, never called again",
                                d->calling[p->partition], d->cfg->topic_commands, (int)p->partition,
                                (long long)p->offset);
                }
                json_object_put(meta);
        }
        if (!rc && (err = rd_kafka_assign(d->cons, l)))
                rc = pb_seterr(errstr, errsz, "desk: assign: %s", rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(l);
        return rc;
}

static void leave_office(pb_desk_t *d, const char *why)
{
        if (!d->cons)
                return;
        pb_info("desk: not carrying out commands (%s)", why);
        rd_kafka_flush(d->prod, FLUSH_MS);
        rd_kafka_destroy(d->cons);
        d->cons = NULL;
        clear_done(d);
        if (d->metrics)
                pb_metrics_set(d->metrics, "portout_bridge_desk_active", NULL, 0);
}

static int take_office(pb_desk_t *d)
{
        char err[PB_ERRSZ];
        const pb_config_t *c = d->cfg;
        pb_consumer_spec_t spec = {
            .role = "desk",
            .group_id = c->desk_group,
            .partition_eof = 1,
            .queued_max_kbytes = "1024",
        };
        rd_kafka_topic_partition_list_t *l = NULL;
        d->loaded = 0;
        /* The results topic is the desk's own (created if missing); the
         * commands topic is its writers' (never created here). */
        int rc = !(d->cons = pb_kafka_consumer_new(c, &spec, err, sizeof(err))) ||
                 pb_kafka_ensure_topic(d->prod, c->topic_command_results, -1, 0, err, sizeof(err));
        if (!rc) {
                l = rd_kafka_topic_partition_list_new(8);
                rc = pb_kafka_partitions(d->cons, c->topic_command_results, KAFKA_TIMEOUT_MS, l,
                                         RD_KAFKA_OFFSET_BEGINNING, err, sizeof(err)) <= 0 ||
                     pb_kafka_read_to_end(d->cons, l, LOAD_MS, &d->stop, learn_result, d, NULL, err,
                                          sizeof(err));
                rd_kafka_topic_partition_list_destroy(l);
        }
        /* It must be able to record what it does before it does anything:
         * a call whose result cannot be written is a call nobody hears of. */
        int can = rc ? 1 : pb_kafka_can_write(d->prod, c->topic_command_results, err, sizeof(err));
        if (can == 0)
                pb_err("desk: not carrying out any command: it cannot write its results (%s); "
                       "grant Write on %s (check-config --kafka)",
                       err, c->topic_command_results);
        if (!rc && can != 1)
                rc = can == 0 ? NO_RIGHT : PB_ERR;
        if (!rc)
                rc = follow_commands(d, err, sizeof(err));
        if (rc) {
                if (!d->stop && rc != NO_RIGHT)
                        pb_warn("desk: cannot take office: %s", err);
                if (d->cons)
                        leave_office(d, "could not start");
                return rc == NO_RIGHT ? NO_RIGHT : PB_ERR;
        }
        pb_info("desk: carrying out commands of %s%s (%zu result(s) known from %zu record(s) of "
                "%s)",
                c->topic_commands, c->desk_dry_run ? " as a dry run" : "", d->done.size, d->loaded,
                c->topic_command_results);
        if (d->metrics)
                pb_metrics_set(d->metrics, "portout_bridge_desk_active", NULL, 1);
        return 0;
}

/* --- one command --- */

/* Before an act that must be this leader's alone (a call, a result): the
 * local view first, then Kafka's word (the fence: a commit the broker
 * accepts only from the election's current generation), which a deposed
 * leader that has not yet heard of it (a paused process) cannot pass.
 * Returns 0, or PB_ERR (leave office). */
static int prove_leader(pb_desk_t *d, const rd_kafka_message_t *m, const char *meta)
{
        if (!pb_office_held(&d->office))
                return PB_ERR;
        char err[PB_ERRSZ];
        if (pb_office_fence(&d->office, rd_kafka_topic_name(m->rkt), m->partition, m->offset, meta,
                            err, sizeof(err))) {
                count(d, "portout_bridge_desk_fenced_total", NULL, 1);
                pb_warn("desk: not acting on %s [%d] at offset %lld: %s",
                        rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset, err);
                return PB_ERR;
        }
        return 0;
}

/* Commits the position of the commands topic: at (this record again) with
 * the intent to call id, or past it (id NULL). Fenced first: desk.group's
 * commits are not (its consumer is no group member), and a deposed desk's
 * commit would overwrite the position, and the intent, of the desk in
 * office. Returns 0 or PB_ERR. */
static int commit(pb_desk_t *d, const rd_kafka_message_t *m, int64_t offset, const char *calling)
{
        char meta[PB_COMMAND_ID_MAX + 32] = "";
        if (calling)
                snprintf(meta, sizeof(meta), "{\"calling\":\"%s\"}", calling); /* id: no escaping */
        if (prove_leader(d, m, calling ? meta : NULL))
                return PB_ERR;
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition);
        p->offset = offset;
        if (calling) {
                p->metadata = strdup(meta);
                p->metadata_size = p->metadata ? strlen(meta) : 0;
        }
        rd_kafka_resp_err_t err = rd_kafka_commit(d->cons, l, 0);
        rd_kafka_topic_partition_list_destroy(l);
        if (err) {
                pb_warn("desk: cannot commit the position in %s: %s", d->cfg->desk_group,
                        rd_kafka_err2str(err));
                return PB_ERR;
        }
        return 0;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        (void)rk;
        (void)opaque;
        int *acked = m->_private;
        if (m->err)
                pb_warn("desk: result not written: %s", rd_kafka_err2str(m->err));
        else if (acked)
                *acked = 1;
}

/* Writes the result of c (key: its id, or the record's ref) and waits for
 * Kafka's acknowledgement. 0 if written. */
static int write_result(pb_desk_t *d, const pb_command_t *c, const char *key, const char *ref,
                        const pb_command_result_t *r)
{
        const pb_config_t *cfg = d->cfg;
        char result_id[KEY_MAX + 16], now[40];
        snprintf(result_id, sizeof(result_id), RESULT_PREFIX "%s", key);
        pb_time_format_ms(pb_now_ms(), now, sizeof(now));
        size_t dlen, vlen;
        char *data = pb_command_result_data(c, r, &dlen);
        char *value = data ? pb_record_command_result_value(data, dlen, result_id, c->portout_id,
                                                            now, cfg->envelope_source, &vlen)
                           : NULL;
        free(data);
        if (!value)
                return PB_ERR;
        pb_record_out_t rec;
        pb_record_command_result(&rec, cfg->topic_command_results, cfg->envelope_source,
                                 c->portout_id, result_id, now, ref, value, vlen);
        rd_kafka_headers_t *h = rd_kafka_headers_new(rec.rec.headers_cnt);
        for (size_t i = 0; i < rec.rec.headers_cnt; i++)
                rd_kafka_header_add(h, rec.rec.headers[i].name, -1, rec.rec.headers[i].value, -1);
        int acked = 0;
        rd_kafka_resp_err_t err = rd_kafka_producev(
            d->prod, RD_KAFKA_V_TOPIC(cfg->topic_command_results),
            RD_KAFKA_V_KEY(rec.rec.key, rec.rec.key ? rec.rec.key_len : 0),
            RD_KAFKA_V_VALUE(value, vlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(&acked), RD_KAFKA_V_END);
        if (err) {
                pb_warn("desk: cannot produce the result of %s: %s", key, rd_kafka_err2str(err));
                rd_kafka_headers_destroy(h);
                free(value);
                return PB_ERR;
        }
        rd_kafka_flush(d->prod, FLUSH_MS);
        if (!acked)
                return PB_ERR;
        char labels[64];
        snprintf(labels, sizeof(labels), "outcome=\"%s\"", r->outcome);
        count(d, "portout_bridge_desk_commands_total", labels, 1);
        pb_info("desk: command %s (%s, port-out %s): %s%s%s", key,
                c->type_name[0] ? c->type_name : "?", c->portout_id[0] ? c->portout_id : "?",
                r->outcome, r->reason ? ": " : "", r->reason ? r->reason : "");
        return mark_done(d, key);
}

/* The port-out's status now (GET /portouts/{id}); 0 with status set,
 * PB_TX_NOT_FOUND, or PB_ERR (the API failing: try again later). */
static int read_status(pb_desk_t *d, const char *id, char *status, size_t n)
{
        json_object *o = NULL, *data = NULL, *st = NULL;
        char err[PB_ERRSZ];
        pb_tx_rc_t rc = pb_telnyx_get_portout(d->tx, id, &o, err, sizeof(err));
        int out = PB_ERR;
        if (rc == PB_TX_NOT_FOUND)
                out = PB_TX_NOT_FOUND;
        else if (rc == PB_TX_OK && json_object_object_get_ex(o, "data", &data) &&
                 json_object_object_get_ex(data, "status", &st) &&
                 json_object_is_type(st, json_type_string)) {
                snprintf(status, n, "%s", json_object_get_string(st));
                out = 0;
        } else if (!d->stop) {
                pb_warn("desk: port-out %s: %s", id,
                        rc == PB_TX_OK ? "the answer holds no data.status" : err);
        }
        json_object_put(o);
        return out;
}

/* 1 if the port-out's comments hold one with body, 0 if not, PB_ERR if
 * they cannot be read. */
static int has_comment(pb_desk_t *d, const pb_command_t *c)
{
        json_object *o = NULL, *list = NULL;
        char err[PB_ERRSZ];
        if (pb_telnyx_list_comments(d->tx, c->portout_id, &o, err, sizeof(err)) != PB_TX_OK) {
                pb_warn("desk: comments of %s: %s", c->portout_id, err);
                return PB_ERR;
        }
        int found = 0;
        if (json_object_object_get_ex(o, "data", &list) &&
            json_object_is_type(list, json_type_array))
                for (size_t i = 0; i < json_object_array_length(list) && !found; i++) {
                        json_object *b = NULL;
                        if (json_object_object_get_ex(json_object_array_get_idx(list, i), "body",
                                                      &b) &&
                            json_object_is_type(b, json_type_string) &&
                            !strcmp(json_object_get_string(b), c->body))
                                found = 1;
                }
        json_object_put(o);
        return found;
}

/* A call that may have been sent and has no answer: settled by what the
 * port-out shows. 0 with r filled, PB_ERR if it cannot be read now. */
static int settle_unknown(pb_desk_t *d, const pb_command_t *c, char *status, size_t n,
                          pb_command_result_t *r, const char *how)
{
        int st = read_status(d, c->portout_id, status, n);
        int comment = st == 0 && c->type == PB_CMD_COMMENT ? has_comment(d, c) : 0;
        if (st == PB_ERR || comment == PB_ERR)
                return PB_ERR;
        int done = st == 0 && pb_command_settled_done(c, status, comment);
        r->outcome = done ? "done" : "failed";
        r->status_after = st == 0 ? status : NULL;
        r->settled_by = how;
        r->reason = done ? NULL
                         : "the call may have been sent and no answer came; the port-out does not "
                           "show it carried out, and it is never sent again";
        return 0;
}

/* Carries out one command record. Returns 0 (its result written, the
 * position past it), or PB_ERR (leave office: the next one takes it up). */
static int carry_out(pb_desk_t *d, const rd_kafka_message_t *m)
{
        const pb_config_t *cfg = d->cfg;
        pb_command_t c;
        char why[PB_ERRSZ], ref[48], status[32] = "", key[KEY_MAX + 1];
        snprintf(ref, sizeof(ref), "%d:%lld", (int)m->partition, (long long)m->offset);
        int parsed = pb_command_parse(m->payload, m->len, m->key, m->key_len, &c, why, sizeof(why));
        if (c.id[0])
                snprintf(key, sizeof(key), "%s", c.id);
        else
                snprintf(key, sizeof(key), "@%s", ref);
        if (is_done(d, key)) { /* a replay, or a second copy of the command */
                count(d, "portout_bridge_desk_duplicates_total", NULL, 1);
                return commit(d, m, m->offset + 1, NULL);
        }
        pb_command_result_t r = {0};
        char *calling = m->partition < MAX_PARTITIONS ? d->calling[m->partition] : NULL;
        if (parsed) {
                r.outcome = "refused";
                r.reason = why;
        } else if (calling && !strcmp(calling, c.id)) {
                /* sent by a desk that stopped before its result */
                if (settle_unknown(d, &c, status, sizeof(status), &r,
                                   "read after a restart: the port-out's status and comments"))
                        return PB_ERR;
        } else {
                int st = read_status(d, c.portout_id, status, sizeof(status));
                if (st == PB_ERR)
                        return PB_ERR;
                if (st == PB_TX_NOT_FOUND) {
                        r.outcome = "refused";
                        r.reason = "no such port-out at Telnyx";
                } else if (pb_command_allowed(&c, status, pb_now_ms() * 1000,
                                              cfg->desk_max_command_age_s, why, sizeof(why))) {
                        r.outcome = "refused";
                        r.reason = why;
                        r.status_after = status;
                } else if (cfg->desk_dry_run) {
                        r.outcome = "dry_run";
                        r.status_after = status;
                }
        }
        pb_tx_answer_t a;
        memset(&a, 0, sizeof(a));
        char after[32] = "";
        if (!r.outcome) {
                const char *method, *suffix;
                char body[PB_COMMAND_BODY_MAX * 6 + 64], err[PB_ERRSZ];
                if (pb_command_request(&c, &method, &suffix, body, sizeof(body)))
                        return PB_ERR;
                /* The intent first: if this desk dies from here until its
                 * result is acknowledged, the next one settles it by
                 * reading instead of calling again. */
                if (commit(d, m, m->offset, c.id))
                        return PB_ERR;
                char meta[PB_COMMAND_ID_MAX + 32];
                snprintf(meta, sizeof(meta), "{\"calling\":\"%s\"}", c.id);
                if (prove_leader(d, m, meta))
                        return PB_ERR; /* deposed: the intent stands, the next one settles it */
                pb_tx_rc_t rc;
                for (int64_t tries = 0;; tries++) {
                        count(d, "portout_bridge_desk_api_calls_total", NULL, 1);
                        rc = pb_telnyx_action(d->tx, method, c.portout_id, suffix, body, &a, err,
                                              sizeof(err));
                        /* 429: the limiter refused it before any action (the
                         * SDKs send a POST again after one); the client has
                         * paced every request of the process, so the next try
                         * waits out the window. Bounded like any request. */
                        if (rc != PB_TX_LIMITED || tries >= cfg->telnyx_max_retries)
                                break;
                        count(d, "portout_bridge_desk_rate_limited_total", NULL, 1);
                        pb_warn("desk: command %s: %s: rate limited, trying again after the "
                                "window (%lld/%lld)",
                                c.id, err, (long long)tries + 1,
                                (long long)cfg->telnyx_max_retries);
                        if (d->stop) {
                                commit(d, m, m->offset, NULL); /* not carried out */
                                return PB_ERR;
                        }
                        if (prove_leader(d, m, meta))
                                return PB_ERR; /* deposed: its intent stands, settled by reading */
                }
                json_object *data = NULL, *st = NULL;
                switch (rc) {
                case PB_TX_OK:
                        r.outcome = "done";
                        r.http_status = a.status;
                        if (a.body && json_object_object_get_ex(a.body, "data", &data) &&
                            json_object_object_get_ex(data, "status", &st) &&
                            json_object_is_type(st, json_type_string))
                                snprintf(after, sizeof(after), "%s", json_object_get_string(st));
                        r.status_after = after[0] ? after : status;
                        break;
                case PB_TX_ABORTED: /* stopping before it was sent: not called */
                        json_object_put(a.body);
                        commit(d, m, m->offset, NULL);
                        return PB_ERR;
                case PB_TX_UNAVAILABLE:
                        pb_warn("desk: command %s: %s: settling it by reading the port-out", c.id,
                                err);
                        r.http_status = a.status;
                        r.error_code = a.error_code[0] ? a.error_code : NULL;
                        r.error_detail = a.error_detail[0] ? a.error_detail : NULL;
                        if (settle_unknown(d, &c, status, sizeof(status), &r,
                                           "read after no answer: the port-out's status and "
                                           "comments")) {
                                json_object_put(a.body);
                                return PB_ERR;
                        }
                        break;
                default: /* refused by Telnyx (or still rate limited): not carried out */
                        r.outcome = "failed";
                        r.http_status = a.status;
                        r.error_code = a.error_code[0] ? a.error_code : NULL;
                        r.error_detail = a.error_detail[0] ? a.error_detail : NULL;
                        r.status_after = status;
                        r.reason = "Telnyx refused the call";
                        break;
                }
        }
        /* A deposed desk writes no result: the next one writes it. */
        int rc = prove_leader(d, m, NULL) ? PB_ERR : write_result(d, &c, key, ref, &r);
        json_object_put(a.body);
        if (rc)
                return PB_ERR;
        if (calling && c.id[0] && !strcmp(calling, c.id))
                calling[0] = '\0';
        return commit(d, m, m->offset + 1, NULL);
}

static void *desk_main(void *arg)
{
        pb_desk_t *d = arg;
        int failures = 0;
        while (!d->stop) {
                pb_office_rc_t may = pb_office_check(&d->office, d->cons != NULL);
                if (may != PB_OFFICE_ACT) {
                        leave_office(d, pb_office_why(may));
                        if (may == PB_OFFICE_NONE)
                                pause_ms(d, 500);
                        continue;
                }
                int office = d->cons ? 0 : take_office(d);
                if (office) {
                        /* no right to record results: looked at again
                         * every 30 s, said each time */
                        pause_ms(d, office == NO_RIGHT ? 30000 : 2000);
                        continue;
                }
                rd_kafka_message_t *m = rd_kafka_consumer_poll(d->cons, 500);
                if (!m)
                        continue;
                int rc = 0;
                if (!m->err)
                        rc = carry_out(d, m);
                else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        pb_warn("desk: %s", rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                if (rc) {
                        /* The API or Kafka failing, or deposed: start again
                         * from what the topics say, after a pause that
                         * grows. */
                        int64_t wait = (int64_t)500 << (failures < 6 ? failures : 6);
                        failures++;
                        leave_office(d, d->stop ? "stopping" : "a command could not be finished");
                        pause_ms(d, wait);
                } else {
                        failures = 0;
                }
        }
        leave_office(d, "stopping");
        return NULL;
}

static void release(pb_desk_t *d)
{
        if (d->prod)
                rd_kafka_destroy(d->prod);
        pb_telnyx_free(d->tx);
        clear_done(d);
        pb_idmap_destroy(&d->done);
        pthread_mutex_destroy(&d->lock);
        pthread_cond_destroy(&d->cond);
        free(d);
}

pb_desk_t *pb_desk_new(const pb_config_t *cfg, pb_metrics_t *metrics, pb_leader_fn *leader,
                       pb_fence_fn *fence, void *ctx, pb_fail_t *fail, char *errstr, size_t errsz)
{
        pb_desk_t *d = calloc(1, sizeof(*d));
        if (!d || pb_idmap_init(&d->done, offsetof(struct done, key))) {
                free(d);
                pb_setfail(fail, PB_FAIL_SYSTEM, errstr, errsz, "out of memory");
                return NULL;
        }
        d->cfg = cfg;
        d->metrics = metrics;
        if (metrics) { /* exported from the start, at 0 */
                pb_metrics_set(metrics, "portout_bridge_desk_active", NULL, 0);
                pb_metrics_add(metrics, "portout_bridge_desk_api_calls_total", NULL, 0);
                pb_metrics_add(metrics, "portout_bridge_desk_duplicates_total", NULL, 0);
                pb_metrics_add(metrics, "portout_bridge_desk_rate_limited_total", NULL, 0);
                pb_metrics_add(metrics, "portout_bridge_desk_fenced_total", NULL, 0);
                static const char *const outcomes[] = {"outcome=\"done\"", "outcome=\"refused\"",
                                                       "outcome=\"failed\"", "outcome=\"dry_run\""};
                for (size_t i = 0; i < 4; i++)
                        pb_metrics_add(metrics, "portout_bridge_desk_commands_total", outcomes[i],
                                       0);
        }
        pb_office_init(&d->office, leader, fence, ctx);
        pthread_mutex_init(&d->lock, NULL);
        pb_cond_init(&d->cond);
        if (fail)
                *fail = PB_FAIL_CONFIG;
        char e[512];
        d->tx = pb_telnyx_new(cfg, errstr, errsz);
        rd_kafka_conf_t *conf = d->tx ? pb_kafka_conf(cfg, 1, errstr, errsz) : NULL;
        if (conf) {
                rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
                if (rd_kafka_conf_set(conf, "statistics.interval.ms", "0", e, sizeof(e)) ||
                    rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", e, sizeof(e)) ||
                    rd_kafka_conf_set(conf, "client.id", PB_NAME "-desk", e, sizeof(e)) ||
                    !(d->prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e)))) {
                        rd_kafka_conf_destroy(conf);
                        pb_seterr(errstr, errsz, "desk: cannot create the producer: %s", e);
                }
        }
        if (!d->prod) {
                release(d);
                return NULL;
        }
        pb_telnyx_set_abort_flag(d->tx, &d->stop);
        if (pthread_create(&d->thread, NULL, desk_main, d)) {
                pb_setfail(fail, PB_FAIL_SYSTEM, errstr, errsz, "cannot start the desk thread");
                release(d);
                return NULL;
        }
        d->started = 1;
        return d;
}

void pb_desk_free(pb_desk_t *d)
{
        if (!d)
                return;
        pthread_mutex_lock(&d->lock);
        d->stop = 1;
        pthread_cond_broadcast(&d->cond);
        pthread_mutex_unlock(&d->lock);
        if (d->started)
                pthread_join(d->thread, NULL);
        release(d);
}

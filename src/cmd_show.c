#include <json-c/json.h>
#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "desk_command.h"
#include "jsoncheck.h"
#include "kafka_conf.h"
#include "kafka_topics.h"
#include "privacy.h"
#include "progress.h"
#include "record.h"
#include "telnyx_client.h"
#include "timefmt.h"

static const char usage[] =
    "Usage: portout-bridge [-c FILE] show PORTOUT_ID [--since TIME] [--json]\n"
    "\n"
    "Prints a port-out's current state (from topics.state, else GET\n"
    "/portouts/{id}), then its timeline: every record of it on the event topics,\n"
    "the dead-letter topic, the deadline topic and the desk's commands and\n"
    "results, in time order, each with its ingest path. TIME\n"
    "(RFC 3339) bounds the scan (records written since then; default: all).\n"
    "Progress goes to stderr. --json prints one JSON object for scripts (a\n"
    "deadline event's and a command result's data with their entries).\n"
    "Payloads are summarized (status, FOC date, comment), never printed whole,\n"
    "and the state follows privacy.drop and privacy.hash.\n"
    "Exit 0 found; 65 nothing known of it; 69 Kafka unavailable; 78 configuration.\n";

#define KAFKA_TIMEOUT_MS 15000
#define SCAN_MS          600000 /* the longest a scan may take */

/* One record of the timeline. */
struct entry {
        char time[40], type[80], id[130], ingest[16], topic[256], detail[300];
        char trace[PB_TRACEPARENT_LEN + 1]; /* its traceparent, "" if none */
        int32_t partition;
        int64_t offset;
        json_object *data; /* a deadline event's or a command result's data (--json), or NULL */
};

struct scan {
        const char *id;
        struct entry *e;
        size_t n, cap;
        _Atomic int64_t done, total, matched;
        const char *state_topic, *dead_letter_topic, *commands_topic;
        json_object *state; /* the newest state record's data */
};

static void progress_of(void *ctx, pb_progress_state_t *out)
{
        struct scan *s = ctx;
        out->unit = "records";
        out->done = atomic_load(&s->done);
        out->total = atomic_load(&s->total);
        out->events = (uint64_t)atomic_load(&s->matched);
}

static const char *str_at(json_object *o, const char *a, const char *b)
{
        json_object *v = NULL;
        if (!o || !json_object_object_get_ex(o, a, &v))
                return NULL;
        if (b &&
            (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, b, &v)))
                return NULL;
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* A record's attributes (record.h), and for an event a summary of its
 * payload (never the payload itself); a dead letter's stage and reason
 * (its bytes may hold what the privacy policy keeps out of the topics:
 * never printed). */
/* A desk command (desk_command.h): its id, type and time, never its text. */
static void describe_command(const rd_kafka_message_t *m, struct entry *e)
{
        pb_command_t c;
        char why[PB_ERRSZ], t[40] = "";
        int bad = pb_command_parse(m->payload, m->len, m->key, m->key_len, &c, why, sizeof(why));
        if (c.time_us)
                pb_time_format_us(c.time_us, t, sizeof(t));
        snprintf(e->time, sizeof(e->time), "%s", t);
        snprintf(e->id, sizeof(e->id), "%s", c.id);
        snprintf(e->ingest, sizeof(e->ingest), "command");
        snprintf(e->type, sizeof(e->type), "%s", c.type_name[0] ? c.type_name : "command");
        snprintf(e->detail, sizeof(e->detail), "%s%.200s", bad ? "not carried out: " : "",
                 bad ? why : "");
}

static void describe(const rd_kafka_message_t *m, struct entry *e, int dead_letter)
{
        pb_record_view_t v;
        pb_record_read_kafka(m, &v);
        snprintf(e->time, sizeof(e->time), "%s", v.time);
        snprintf(e->ingest, sizeof(e->ingest), "%s", v.ingest);
        snprintf(e->id, sizeof(e->id), "%s", v.id);
        snprintf(e->trace, sizeof(e->trace), "%s", v.traceparent);
        if (dead_letter || v.kind == PB_RECORD_DEAD_LETTER) {
                snprintf(e->type, sizeof(e->type), "dead letter");
                snprintf(e->detail, sizeof(e->detail), "%s: %s", v.stage, v.error);
                return;
        }
        snprintf(e->type, sizeof(e->type), "%s", v.type);
        char why[PB_ERRSZ];
        json_object *env = pb_json_parse(m->payload, m->len, why, sizeof(why));
        json_object *data = NULL, *payload = NULL;
        if (v.kind == PB_RECORD_COMMAND_RESULT) {
                if (env)
                        json_object_object_get_ex(env, "data", &data);
                const char *out = str_at(data, "outcome", NULL),
                           *cid = str_at(data, "command_id", NULL),
                           *after = str_at(data, "status_after", NULL),
                           *by = str_at(data, "settled_by", NULL);
                snprintf(e->detail, sizeof(e->detail), "command %.130s: %s%s%.24s%s%.100s",
                         cid ? cid : "(no id)", out ? out : "?", after ? ", status " : "",
                         after ? after : "", by ? ", settled by " : "", by ? by : "");
                e->data = data && json_object_is_type(data, json_type_object)
                              ? json_object_get(data)
                              : NULL;
                json_object_put(env);
                return;
        }
        if (v.kind == PB_RECORD_DEADLINE) {
                json_object *thr = NULL, *age = NULL;
                if (env && json_object_object_get_ex(env, "data", &data)) {
                        json_object_object_get_ex(data, "threshold_s", &thr);
                        json_object_object_get_ex(data, "age_s", &age);
                }
                const char *auto_at = str_at(data, "auto_authorize_at", NULL);
                snprintf(e->detail, sizeof(e->detail),
                         "pending past %llds (announced at %llds); Telnyx authorizes it at %.40s",
                         (long long)(thr ? json_object_get_int64(thr) : 0),
                         (long long)(age ? json_object_get_int64(age) : 0),
                         auto_at ? auto_at : "?");
                e->data = data && json_object_is_type(data, json_type_object)
                              ? json_object_get(data)
                              : NULL;
                json_object_put(env);
                return;
        }
        if (env && json_object_object_get_ex(env, "data", &data))
                json_object_object_get_ex(data, "payload", &payload);
        if (env && !data && json_object_object_get_ex(env, "payload", &payload))
                data = env; /* binary mode: the value is the data */
        const char *st = str_at(payload, "status", NULL), *foc = str_at(payload, "foc_date", NULL),
                   *c = str_at(payload, "comment", NULL);
        snprintf(e->detail, sizeof(e->detail), "%s%s%s%s%s%.200s%s", st ? "status " : "",
                 st ? st : "", foc ? "FOC date " : "", foc ? foc : "", c ? "comment \"" : "",
                 c ? c : "", c ? "\"" : "");
        json_object_put(env);
}

/* 1 if the record is about the port-out: its key, or (a dead letter, whose
 * input may not have parsed) its id in the bytes. */
static int about(const rd_kafka_message_t *m, const char *id, int dead_letter)
{
        size_t n = strlen(id);
        if (m->key && m->key_len == n && memcmp(m->key, id, n) == 0)
                return 1;
        if (!dead_letter || !m->payload || m->len < n)
                return 0;
        const char *p = m->payload;
        for (size_t i = 0; i + n <= m->len; i++)
                if (p[i] == id[0] && memcmp(p + i, id, n) == 0)
                        return 1;
        return 0;
}

static int add_entry(struct scan *s, const rd_kafka_message_t *m, int dead_letter)
{
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 32;
                struct entry *e = realloc(s->e, cap * sizeof(*e));
                if (!e)
                        return PB_ERR;
                s->e = e;
                s->cap = cap;
        }
        struct entry *e = &s->e[s->n++];
        memset(e, 0, sizeof(*e));
        snprintf(e->topic, sizeof(e->topic), "%s", rd_kafka_topic_name(m->rkt));
        e->partition = m->partition;
        e->offset = m->offset;
        if (dead_letter < 0)
                describe_command(m, e);
        else
                describe(m, e, dead_letter);
        if (!e->time[0]) { /* the broker's time, as a last resort */
                rd_kafka_timestamp_type_t tt;
                pb_time_format_ms(rd_kafka_message_timestamp(m, &tt), e->time, sizeof(e->time));
        }
        atomic_fetch_add(&s->matched, 1);
        return 0;
}

/* One record of the scan: the state topic's newest about the port-out, or
 * a timeline entry. */
static int on_record(void *ctx, const rd_kafka_message_t *m, char *errstr, size_t errsz)
{
        struct scan *s = ctx;
        atomic_fetch_add(&s->done, 1);
        const char *topic = rd_kafka_topic_name(m->rkt);
        if (!strcmp(topic, s->state_topic)) {
                json_object *env = NULL, *data = NULL;
                char why[PB_ERRSZ];
                if (about(m, s->id, 0) &&
                    (env = pb_json_parse(m->payload, m->len, why, sizeof(why))) &&
                    json_object_object_get_ex(env, "data", &data)) {
                        json_object_put(s->state);
                        s->state = json_object_get(data);
                }
                json_object_put(env);
                return 0;
        }
        if (!strcmp(topic, s->commands_topic)) {
                if (about(m, s->id, 0) && add_entry(s, m, -1))
                        return pb_seterr(errstr, errsz, "out of memory");
                return 0;
        }
        int dead_letter = !strcmp(topic, s->dead_letter_topic);
        if (about(m, s->id, dead_letter) && add_entry(s, m, dead_letter))
                return pb_seterr(errstr, errsz, "out of memory");
        return 0;
}

/* Reads each topic from since_ms (0: the beginning; the state topic always
 * from its beginning) to the ends it has now. */
static int scan_topics(rd_kafka_t *rk, struct scan *s, const char *const *topics, size_t nt,
                       int64_t since_ms, char *errstr, size_t errsz)
{
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(32);
        int rc = 0;
        for (size_t t = 0; t < nt && !rc; t++)
                if (pb_kafka_partitions(rk, topics[t], KAFKA_TIMEOUT_MS, l,
                                        topics[t] == s->state_topic || !since_ms
                                            ? RD_KAFKA_OFFSET_BEGINNING
                                            : since_ms,
                                        errstr, errsz) < 0)
                        rc = PB_ERR;
        rd_kafka_resp_err_t err =
            !rc && since_ms && l->cnt ? rd_kafka_offsets_for_times(rk, l, KAFKA_TIMEOUT_MS) : 0;
        if (err)
                rc = pb_seterr(errstr, errsz, "offsets for --since: %s", rd_kafka_err2str(err));
        for (int i = 0; !rc && i < l->cnt; i++)
                if (l->elems[i].offset < 0 && l->elems[i].offset != RD_KAFKA_OFFSET_BEGINNING)
                        l->elems[i].offset = RD_KAFKA_OFFSET_END; /* nothing that recent */
        if (!rc)
                rc = pb_kafka_read_to_end(rk, l, SCAN_MS, NULL, on_record, s, &s->total, errstr,
                                          errsz);
        rd_kafka_topic_partition_list_destroy(l);
        return rc;
}

static int by_time(const void *a, const void *b)
{
        const struct entry *x = a, *y = b;
        int64_t tx = 0, ty = 0;
        pb_time_parse_rfc3339(x->time, &tx);
        pb_time_parse_rfc3339(y->time, &ty);
        if (tx != ty)
                return tx < ty ? -1 : 1;
        int c = strcmp(x->topic, y->topic);
        return c ? c : x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void print_human(const struct scan *s, const char *from)
{
        const char *st = str_at(s->state, "status", NULL),
                   *foc = str_at(s->state, "foc_date", NULL),
                   *car = str_at(s->state, "carrier_name", NULL),
                   *up = str_at(s->state, "updated_at", NULL);
        if (s->state)
                printf("port-out %s: %s%s%s%s%s, updated %s (from %s)\n", s->id, st ? st : "?",
                       foc ? ", FOC date " : "", foc ? foc : "", car ? ", to " : "", car ? car : "",
                       up ? up : "?", from);
        else
                printf("port-out %s: no state known (the state topic holds none, and the API was "
                       "not asked or did not know it)\n",
                       s->id);
        printf("timeline: %zu record(s)\n", s->n);
        for (size_t i = 0; i < s->n; i++) {
                const struct entry *e = &s->e[i];
                printf("  %-27s %-36s %-8s %s  %s\n", e->time, e->type,
                       e->ingest[0] ? e->ingest : "-", e->id[0] ? e->id : "-", e->detail);
        }
}

static void print_json(const struct scan *s, const char *from)
{
        json_object *o = json_object_new_object(), *tl = json_object_new_array();
        json_object_object_add(o, "portout_id", json_object_new_string(s->id));
        json_object_object_add(o, "state", s->state ? json_object_get(s->state) : NULL);
        json_object_object_add(o, "state_from", json_object_new_string(from));
        for (size_t i = 0; i < s->n; i++) {
                const struct entry *e = &s->e[i];
                json_object *j = json_object_new_object();
                json_object_object_add(j, "time", json_object_new_string(e->time));
                json_object_object_add(j, "type", json_object_new_string(e->type));
                json_object_object_add(j, "id", json_object_new_string(e->id));
                json_object_object_add(j, "ingestpath", json_object_new_string(e->ingest));
                json_object_object_add(j, "detail", json_object_new_string(e->detail));
                json_object_object_add(j, "topic", json_object_new_string(e->topic));
                json_object_object_add(j, "partition", json_object_new_int(e->partition));
                json_object_object_add(j, "offset", json_object_new_int64(e->offset));
                if (e->trace[0])
                        json_object_object_add(j, "traceparent", json_object_new_string(e->trace));
                if (e->data)
                        json_object_object_add(j, "data", json_object_get(e->data));
                json_object_array_add(tl, j);
        }
        json_object_object_add(o, "timeline", tl);
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
}

/* The state from the API (the topic held none); the privacy policy applies. */
static const char *state_from_api(const pb_config_t *cfg, struct scan *s)
{
        char err[PB_ERRSZ];
        if (!cfg->telnyx_api_key || !*cfg->telnyx_api_key)
                return "none";
        pb_telnyx_t *tx = pb_telnyx_new(cfg, err, sizeof(err));
        json_object *o = NULL, *data = NULL;
        pb_tx_rc_t rc = tx ? pb_telnyx_get_portout(tx, s->id, &o, err, sizeof(err)) : PB_TX_AUTH;
        if (rc == PB_TX_OK && json_object_object_get_ex(o, "data", &data)) {
                s->state = json_object_get(data);
                pb_privacy_apply(cfg->privacy, s->state);
        } else if (rc != PB_TX_NOT_FOUND) {
                fprintf(stderr, "show: the Telnyx API: %s\n", err);
        }
        json_object_put(o);
        pb_telnyx_free(tx);
        return s->state ? "the API" : "none";
}

int pb_cmd_show(const pb_globals_t *g, int argc, char **argv)
{
        if (pb_cmd_wants_help(argc, argv, usage))
                return PB_EXIT_OK;
        const char *id = NULL, *since = NULL;
        int json = 0;
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--json"))
                        json = 1;
                else if (!strcmp(argv[i], "--since") && i + 1 < argc)
                        since = argv[++i];
                else if (argv[i][0] != '-' && !id)
                        id = argv[i];
                else {
                        fprintf(stderr, "show: unexpected argument %s\n%s", argv[i], usage);
                        return PB_EXIT_USAGE;
                }
        }
        int64_t since_us = 0;
        if (!id || !pb_telnyx_id_valid(id) ||
            (since && pb_time_parse_rfc3339(since, &since_us) != 0)) {
                fprintf(stderr, "show: %s\n%s",
                        !id                       ? "a PORTOUT_ID is needed"
                        : !pb_telnyx_id_valid(id) ? "not a valid port-out id"
                                                  : "--since takes an RFC 3339 time",
                        usage);
                return PB_EXIT_USAGE;
        }
        pb_config_t *cfg = pb_cmd_load_config(g);
        if (!cfg)
                return PB_EXIT_CONFIG;
        char err[PB_ERRSZ];
        pb_consumer_spec_t spec = {.role = "show", .group_id = PB_NAME "-show", .partition_eof = 1};
        rd_kafka_t *rk = pb_kafka_consumer_new(cfg, &spec, err, sizeof(err));
        if (!rk) {
                fprintf(stderr, PB_NAME ": configuration error: %s\n", err);
                pb_config_free(cfg);
                return PB_EXIT_CONFIG;
        }
        struct scan s;
        memset(&s, 0, sizeof(s));
        s.id = id;
        const char *topics[PB_CONFIG_TOPICS + 4];
        pb_config_topics(cfg, topics);
        topics[PB_CONFIG_TOPICS] = s.state_topic = cfg->topic_state;
        topics[PB_CONFIG_TOPICS + 1] = cfg->topic_deadlines;
        topics[PB_CONFIG_TOPICS + 2] = s.commands_topic = cfg->topic_commands;
        topics[PB_CONFIG_TOPICS + 3] = cfg->topic_command_results;
        s.dead_letter_topic = cfg->topic_dead_letter;
        pb_progress_t *pr = pb_progress_start("show", 0, progress_of, &s);
        int rc =
            scan_topics(rk, &s, topics, PB_CONFIG_TOPICS + 4, since_us / 1000, err, sizeof(err));
        pb_progress_stop(pr);
        rd_kafka_destroy(rk);
        fprintf(stderr, "show: %lld of %lld records scanned, %lld about %s\n",
                (long long)atomic_load(&s.done), (long long)atomic_load(&s.total),
                (long long)atomic_load(&s.matched), id);
        if (rc) {
                fprintf(stderr, "show: %s\n", err);
        } else {
                const char *from = s.state ? "the state topic" : state_from_api(cfg, &s);
                if (s.n > 1) /* no timeline: s.e is NULL, which qsort may not take */
                        qsort(s.e, s.n, sizeof(*s.e), by_time);
                if (json)
                        print_json(&s, from);
                else
                        print_human(&s, from);
        }
        int code = rc ? PB_EXIT_UNAVAILABLE : s.state || s.n ? PB_EXIT_OK : PB_EXIT_DATAERR;
        json_object_put(s.state);
        for (size_t i = 0; i < s.n; i++)
                json_object_put(s.e[i].data);
        free(s.e);
        pb_config_free(cfg);
        return code;
}

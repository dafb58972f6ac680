#include "kafka_producer.h"
#include "jsoncheck.h"

#include <errno.h>
#include <json-c/json.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka_conf.h"
#include "kafka_topics.h"
#include "log.h"
#include "pb.h"

/* librdkafka's teardown is given this long (pb_kafka_destroy_bounded()). */
#define DESTROY_MS 5000

/* Records drained from the requeue list per lock hold. */
#define DRAIN_BATCH 256

enum msg_state { MSG_PRIMARY = 0, MSG_DLQ };

/* Who holds a pending record: librdkafka (or, during a rebuild, the handle
 * being torn down), or the bridge's own requeue list. */
enum msg_where { IN_KAFKA = 0, IN_REQUEUE };

/* One record in flight. Everything is copied in one allocation so that
 * librdkafka can borrow value/key without copying (freed after the fate). */
struct pb_msg {
        struct pb_msg *prev, *next; /* pending list, oldest first */
        struct pb_msg *qnext;       /* requeue list, by seq */
        uint64_t seq;               /* send order */
        enum msg_where where;
        enum msg_state state;
        char *topic;
        char *key;
        size_t key_len;
        char *value;
        size_t value_len;
        char *raw;
        size_t raw_len;
        size_t hdr_cnt;
        char **hdr_names;
        char **hdr_values;
        char *ingest, *received, *origin; /* provenance, for a dead letter */
        char *id;                         /* the event's id, "" if none */
        int dlq_err;
        char *dlq_reason;
        int cut; /* the redirect is sent as a prefix (its whole was too large) */
        /* What is sent instead of the refused record (opts.redirect),
         * built once per cut: librdkafka borrows its value. */
        pb_record_out_t *dead;
        int dead_cut;
        int64_t expires_ms; /* record deadline (monotonic), 0: none */
        int maybe;          /* a failure that Kafka may have persisted after all */
        pb_done_fn *cb;
        void *opaque;
};

struct pb_producer {
        rd_kafka_t *rk;
        /* Write-held while the handle is destroyed and replaced; read-held by
         * the rare users of rk outside the lock below (warm-up, fire drill). */
        pthread_rwlock_t rk_lock;
        /* Lists, counters, and every rd_kafka_producev() call, so records
         * reach librdkafka in the order they were accepted. */
        pthread_mutex_t lock;
        pthread_cond_t cond; /* a fate was decided: room, flush progress */
        /* A sender waits for room until pending falls to this (-1: nobody
         * waits). Waking it at every fate made it and the poll thread take
         * turns one record at a time (a context switch each). */
        int64_t room_at;
        struct pb_msg *head, *tail; /* pending, oldest first */
        struct pb_msg *rq_head, *rq_tail;
        uint64_t next_seq;
        pb_producer_stats_t st;
        pthread_t thread;
        int thread_started;
        int wake[2]; /* pipe: librdkafka's queue events and our own wake-ups */
        int stop;
        int closing;              /* no new records; failures become FAILED(shutdown) */
        int closed;               /* pb_producer_close() has run */
        int rebuilding;           /* sends go to the requeue list */
        int rq_blocked;           /* the last drain met a full librdkafka queue */
        int abandoned;            /* a handle was left to finish: keep p alive */
        pb_redirect_fn *redirect; /* a permanent refusal's record to send instead */
        void *redirect_ctx;
        rd_kafka_conf_t *conf_tmpl; /* dup'ed for every (re)build */
        int fail_fast_ms;           /* 0: never give up on a refusal */
        int record_timeout_ms;      /* 0: message.timeout.ms rules; else the deadline */
        int refused;                /* it gave up (st.refused mirrors it) */
};

const char *pb_kafka_problem_name(pb_kafka_problem_t problem)
{
        switch (problem) {
        case PB_KAFKA_OK: return "ok";
        case PB_KAFKA_UNREACHABLE: return "unreachable";
        case PB_KAFKA_AUTHENTICATION: return "authentication";
        case PB_KAFKA_TLS: return "tls";
        case PB_KAFKA_AUTHORIZATION: return "authorization";
        }
        return "unknown";
}

int pb_kafka_problem_is_refusal(pb_kafka_problem_t problem)
{
        return problem == PB_KAFKA_AUTHENTICATION || problem == PB_KAFKA_TLS ||
               problem == PB_KAFKA_AUTHORIZATION;
}

pb_kafka_problem_t pb_kafka_classify(int code, const char *reason)
{
        rd_kafka_resp_err_t err = (rd_kafka_resp_err_t)code;
        /* With TLS 1.3 the broker refuses a client certificate after the
         * handshake: librdkafka sees a transport error carrying the TLS
         * alert ("SSL alert number 46: certificate unknown"). */
        if (err == RD_KAFKA_RESP_ERR__TRANSPORT && reason &&
            (strstr(reason, "SSL") || strstr(reason, "certificate")))
                return PB_KAFKA_TLS;
        switch (err) {
        case RD_KAFKA_RESP_ERR__AUTHENTICATION:
        case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
        case RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM:
        case RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE: return PB_KAFKA_AUTHENTICATION;
        case RD_KAFKA_RESP_ERR__SSL: return PB_KAFKA_TLS;
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_AUTHORIZATION_FAILED: return PB_KAFKA_AUTHORIZATION;
        case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
        case RD_KAFKA_RESP_ERR__TRANSPORT:
        case RD_KAFKA_RESP_ERR__RESOLVE: return PB_KAFKA_UNREACHABLE;
        default: return PB_KAFKA_OK;
        }
}

/* Records a problem; "unreachable" (every broker down, which follows any
 * refused login) does not hide the refusal that caused it. Caller holds
 * p->lock. */
static void note_problem_locked(pb_producer_t *p, pb_kafka_problem_t pr, const char *text)
{
        if (pr == PB_KAFKA_OK)
                return;
        if (pr == PB_KAFKA_UNREACHABLE && pb_kafka_problem_is_refusal(p->st.problem))
                return;
        if (p->st.problem != pr)
                p->st.problem_since_ms = pb_mono_ms();
        p->st.problem = pr;
        snprintf(p->st.problem_text, sizeof(p->st.problem_text), "%s", text);
        if (pb_kafka_problem_is_refusal(pr)) {
                p->st.last_refusal = pr;
                snprintf(p->st.refusal_text, sizeof(p->st.refusal_text), "%s", text);
        }
}

void pb_producer_set_fail_fast(pb_producer_t *p, int ms)
{
        pthread_mutex_lock(&p->lock);
        p->fail_fast_ms = ms;
        pthread_mutex_unlock(&p->lock);
}

const char *pb_producer_err_name(int err)
{
        return rd_kafka_err2name((rd_kafka_resp_err_t)err);
}

static void msg_free(struct pb_msg *m)
{
        if (!m)
                return;
        free(m->dlq_reason);
        if (m->dead) {
                pb_record_out_clear(m->dead);
                free(m->dead);
        }
        free(m); /* everything else lives in the same allocation */
}

/* Copies n bytes plus a NUL to *cursor and advances it. */
static char *put(char **cursor, const char *s, size_t n)
{
        char *d = *cursor;
        if (n)
                memcpy(d, s, n);
        d[n] = '\0';
        *cursor += n + 1;
        return d;
}

static size_t slen(const char *s)
{
        return s ? strlen(s) : 0;
}

/* One allocation per record: the struct, the header pointer arrays and every
 * byte of it (a replay of 200k events spent a fifth of its time in malloc). */
static struct pb_msg *msg_new(const pb_record_t *r, pb_done_fn *cb, void *opaque)
{
        size_t tlen = strlen(r->topic), klen = r->key ? r->key_len : 0;
        size_t total = sizeof(struct pb_msg) + 2 * (r->headers_cnt + 1) * sizeof(char *) + tlen +
                       1 + klen + 1 + r->value_len + 1 + (r->raw ? r->raw_len + 1 : 0) +
                       slen(r->prov.ingest) + slen(r->prov.received) + slen(r->prov.origin) +
                       slen(r->id) + 4;
        for (size_t i = 0; i < r->headers_cnt; i++)
                total += strlen(r->headers[i].name) + strlen(r->headers[i].value) + 2;
        struct pb_msg *m = malloc(total);
        if (!m)
                return NULL;
        memset(m, 0, sizeof(*m));
        m->hdr_names = (char **)(m + 1);
        m->hdr_values = m->hdr_names + r->headers_cnt + 1;
        char *cur = (char *)(m->hdr_values + r->headers_cnt + 1);
        m->topic = put(&cur, r->topic, tlen);
        m->key = r->key ? put(&cur, r->key, klen) : NULL;
        m->key_len = klen;
        m->value = put(&cur, r->value, r->value_len);
        m->value_len = r->value_len;
        if (r->raw) {
                m->raw = put(&cur, r->raw, r->raw_len);
                m->raw_len = r->raw_len;
        }
        m->hdr_cnt = r->headers_cnt;
        for (size_t i = 0; i < r->headers_cnt; i++) {
                m->hdr_names[i] = put(&cur, r->headers[i].name, strlen(r->headers[i].name));
                m->hdr_values[i] = put(&cur, r->headers[i].value, strlen(r->headers[i].value));
        }
        m->ingest = put(&cur, r->prov.ingest ? r->prov.ingest : "", slen(r->prov.ingest));
        m->received = put(&cur, r->prov.received ? r->prov.received : "", slen(r->prov.received));
        m->origin = put(&cur, r->prov.origin ? r->prov.origin : "", slen(r->prov.origin));
        m->id = put(&cur, r->id ? r->id : "", slen(r->id));
        m->cb = cb;
        m->opaque = opaque;
        return m;
}

/* --- lists; the caller holds p->lock --- */

static void pending_add(pb_producer_t *p, struct pb_msg *m)
{
        m->seq = p->next_seq++;
        m->next = NULL;
        m->prev = p->tail;
        if (p->tail)
                p->tail->next = m;
        else
                p->head = m;
        p->tail = m;
        p->st.pending++;
}

/* Unlinks a record; st.pending is the caller's to lower. */
static void pending_unlink(pb_producer_t *p, struct pb_msg *m)
{
        if (m->prev)
                m->prev->next = m->next;
        else
                p->head = m->next;
        if (m->next)
                m->next->prev = m->prev;
        else
                p->tail = m->prev;
}

/* Inserts into the requeue list in send order. New records go to the end
 * (one step); dead letters and re-sends after a rebuild are older and walk
 * back from the end. */
static void rq_insert(pb_producer_t *p, struct pb_msg *m)
{
        m->where = IN_REQUEUE;
        p->st.queued++;
        if (!p->rq_head || p->rq_tail->seq < m->seq) {
                m->qnext = NULL;
                if (p->rq_tail)
                        p->rq_tail->qnext = m;
                else
                        p->rq_head = m;
                p->rq_tail = m;
                return;
        }
        struct pb_msg **pp = &p->rq_head;
        while (*pp && (*pp)->seq < m->seq)
                pp = &(*pp)->qnext;
        m->qnext = *pp;
        *pp = m;
}

static struct pb_msg *rq_pop(pb_producer_t *p)
{
        struct pb_msg *m = p->rq_head;
        if (m) {
                p->rq_head = m->qnext;
                if (!p->rq_head)
                        p->rq_tail = NULL;
                m->qnext = NULL;
                m->where = IN_KAFKA;
                p->st.queued--;
        }
        return m;
}

static void rq_push_front(pb_producer_t *p, struct pb_msg *m)
{
        m->where = IN_REQUEUE;
        p->st.queued++;
        m->qnext = p->rq_head;
        p->rq_head = m;
        if (!p->rq_tail)
                p->rq_tail = m;
}

static void wake_poller(pb_producer_t *p)
{
        ssize_t n = write(p->wake[1], "w", 1);
        (void)n; /* a full pipe already means "wake up" */
}

/* Decides a record's fate: removes it, runs its callback, frees it. It
 * stops counting as pending only after its callback, so a flush that sees
 * nothing pending has seen every callback run. The caller does not hold
 * p->lock. */
static void complete(pb_producer_t *p, struct pb_msg *m, pb_fate_t fate, const char *topic,
                     int32_t partition, int64_t offset, int err, const char *reason)
{
        pthread_mutex_lock(&p->lock);
        pending_unlink(p, m);
        if (fate == PB_FATE_FAILED &&
            (pb_kafka_problem_is_refusal(pb_kafka_classify((rd_kafka_resp_err_t)err, NULL)) ||
             (p->refused &&
              (err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT))))
                p->st.refused_records++;
        if (fate == PB_FATE_DELIVERED)
                p->st.delivered++;
        else if (fate == PB_FATE_DEAD_LETTERED)
                p->st.dead_lettered++;
        else
                p->st.failed++;
        pthread_mutex_unlock(&p->lock);

        pb_delivery_t d = {
            fate, topic, partition, offset, err, reason, fate == PB_FATE_FAILED && m->maybe};
        if (m->cb)
                m->cb(m->opaque, &d);
        msg_free(m);

        pthread_mutex_lock(&p->lock);
        p->st.pending--;
        if (p->room_at < 0 || (int64_t)p->st.pending <= p->room_at)
                pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
}

/* Errors that belong to this one record and will not go away by retrying:
 * the record goes to the dead-letter topic. Everything else (timeouts,
 * transport, authorization of the whole client) is FAILED, for the source to
 * retry. */
static int is_size_error(rd_kafka_resp_err_t err)
{
        return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
               err == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE ||
               err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

static int is_permanent_record_error(rd_kafka_resp_err_t err)
{
        if (is_size_error(err))
                return 1;
        switch (err) {
        case RD_KAFKA_RESP_ERR_INVALID_MSG:
        case RD_KAFKA_RESP_ERR_INVALID_RECORD:
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
        case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
        case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
        case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT: return 1;
        default: return 0;
        }
}

/* Kafka refused this record for good: its original bytes go to the
 * dead-letter topic (produced by the poll thread); the callback reports the
 * fate. Caller holds p->lock. */
static void to_dead_letter_locked(pb_producer_t *p, struct pb_msg *m, rd_kafka_resp_err_t err)
{
        char reason[512];
        snprintf(reason, sizeof(reason), "Kafka refused the record on %s: %s", m->topic,
                 rd_kafka_err2str(err));
        pb_warn("dead-lettering record key=%.*s: %s", (int)m->key_len, m->key ? m->key : "",
                reason);
        m->dlq_err = err;
        free(m->dlq_reason);
        m->dlq_reason = strdup(reason);
        m->state = MSG_DLQ;
        rq_insert(p, m);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
        pb_producer_t *p = opaque;
        struct pb_msg *m = rkm->_private;
        rd_kafka_resp_err_t err = rkm->err;

        if (!err) {
                pthread_mutex_lock(&p->lock);
                p->st.brokers_up = 1;
                p->st.problem = PB_KAFKA_OK;
                pthread_mutex_unlock(&p->lock);
                int dlq = m->state == MSG_DLQ;
                complete(p, m, dlq ? PB_FATE_DEAD_LETTERED : PB_FATE_DELIVERED,
                         rd_kafka_topic_name(rkm->rkt), rkm->partition, rkm->offset,
                         dlq ? m->dlq_err : 0, dlq ? m->dlq_reason : NULL);
                return;
        }
        /* Sent but not acknowledged (a request timed out, a purge of what
         * was in flight): it may be in the log after all. */
        m->maybe = rd_kafka_message_status(rkm) != RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
        pthread_mutex_lock(&p->lock);
        char why[512];
        snprintf(why, sizeof(why), "%s: %s", m->topic, rd_kafka_err2str(err));
        note_problem_locked(p, pb_kafka_classify(err, NULL), why);
        if (p->refused &&
            (err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)) {
                snprintf(why, sizeof(why), "Kafka refused the bridge (%s): %s",
                         pb_kafka_problem_name(p->st.problem), p->st.problem_text);
                pthread_mutex_unlock(&p->lock);
                complete(p, m, PB_FATE_FAILED, m->topic, -1, -1, err, why);
                return;
        }
        if (p->closing) {
                pthread_mutex_unlock(&p->lock);
                complete(p, m, PB_FATE_FAILED, m->topic, -1, -1, err,
                         "shutdown before Kafka acknowledged the record");
                return;
        }
        /* A fatal handle purges its own queues before we rebuild it: those
         * records were not delivered by it, and stay pending for the rebuilt
         * one to send. A record too large for the dead-letter topic too goes
         * again as its prefix and hash, so the event is still accounted for. */
        int resend = (p->rebuilding || rd_kafka_fatal_error(rk, NULL, 0)) && !p->record_timeout_ms;
        int to_dlq =
            !resend && m->state == MSG_PRIMARY && p->redirect && is_permanent_record_error(err);
        int cut = !resend && m->state == MSG_DLQ && is_size_error(err) && !m->cut;
        if (to_dlq)
                to_dead_letter_locked(p, m, err);
        if (cut) {
                m->cut = 1;
                rq_insert(p, m);
        }
        pthread_mutex_unlock(&p->lock);
        if (resend || to_dlq || cut)
                return;
        char reason[512];
        if (m->state == MSG_DLQ)
                snprintf(reason, sizeof(reason), "%s; and the dead-letter topic %s failed too: %s",
                         m->dlq_reason ? m->dlq_reason : "refused",
                         m->dead ? m->dead->rec.topic : "its redirect", rd_kafka_err2str(err));
        else
                snprintf(reason, sizeof(reason), "not delivered to %s: %s", m->topic,
                         rd_kafka_err2str(err));
        /* The pipeline logs the event's failure with its ids (at warn). */
        pb_debug("delivery failed key=%.*s: %s (%s)", (int)m->key_len, m->key ? m->key : "", reason,
                 rd_kafka_err2name(err));
        complete(p, m, PB_FATE_FAILED, m->topic, -1, -1, err, reason);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
        pb_producer_t *p = opaque;
        pthread_mutex_lock(&p->lock);
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
                p->st.brokers_up = 0;
        rd_kafka_resp_err_t cause = (rd_kafka_resp_err_t)err;
        if (cause == RD_KAFKA_RESP_ERR__FATAL)
                cause = rd_kafka_fatal_error(rk, NULL, 0);
        note_problem_locked(p, pb_kafka_classify(cause, reason), reason);
        pthread_mutex_unlock(&p->lock);
        pb_log(err == RD_KAFKA_RESP_ERR__FATAL ? PB_LOG_ERROR : PB_LOG_WARN, "kafka: %s: %s",
               rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* Readiness: some broker (bootstrap or learned) is in state UP. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
        (void)rk;
        pb_producer_t *p = opaque;
        char why[PB_ERRSZ];
        /* librdkafka's own text: bounded by its length, not by its cost */
        json_object *root = pb_json_parse_max(json, json_len, 0, why, sizeof(why)), *brokers;
        int up = 0;
        if (root && json_object_object_get_ex(root, "brokers", &brokers)) {
                json_object_object_foreach(brokers, name, b)
                {
                        (void)name;
                        json_object *st;
                        if (json_object_object_get_ex(b, "state", &st) &&
                            strcmp(json_object_get_string(st), "UP") == 0)
                                up = 1;
                }
        }
        json_object_put(root);
        pthread_mutex_lock(&p->lock);
        p->st.brokers_up = up;
        /* Logged in and connected; an ACL denial stays until a delivery. */
        if (up && p->st.problem != PB_KAFKA_AUTHORIZATION)
                p->st.problem = PB_KAFKA_OK;
        pthread_mutex_unlock(&p->lock);
        return 0; /* librdkafka frees json */
}

static rd_kafka_t *make_rk(pb_producer_t *p, char *errstr, size_t errsz)
{
        char e[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_dup(p->conf_tmpl);
        rd_kafka_conf_set_opaque(conf, p);
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
        if (!rk) {
                rd_kafka_conf_destroy(conf);
                pb_seterr(errstr, errsz, "cannot create the Kafka producer: %s", e);
                return NULL;
        }
        /* Delivery reports, errors and statistics wake the poll thread through
         * the pipe: it never waits inside librdkafka. */
        rd_kafka_queue_t *q = rd_kafka_queue_get_main(rk);
        rd_kafka_queue_io_event_enable(q, p->wake[1], "k", 1);
        rd_kafka_queue_destroy(q);
        return rk;
}

/* Asks the redirect for what to send instead of refused record m (once per
 * cut). Returns 0, or -1 out of memory. */
static int build_redirect(pb_producer_t *p, struct pb_msg *m)
{
        if (m->dead && m->dead_cut == m->cut)
                return 0;
        if (!m->dead && !(m->dead = calloc(1, sizeof(*m->dead))))
                return -1;
        pb_record_out_clear(m->dead);
        pb_header_t *h = m->hdr_cnt ? malloc(m->hdr_cnt * sizeof(*h)) : NULL;
        if (m->hdr_cnt && !h)
                return -1;
        for (size_t i = 0; i < m->hdr_cnt; i++)
                h[i] = (pb_header_t){m->hdr_names[i], m->hdr_values[i]};
        pb_record_t rec = {m->topic,
                           m->key,
                           m->key_len,
                           m->value,
                           m->value_len,
                           h,
                           m->hdr_cnt,
                           m->raw,
                           m->raw_len,
                           {m->ingest, m->received, *m->origin ? m->origin : NULL},
                           *m->id ? m->id : NULL};
        pb_refusal_t r = {&rec, rd_kafka_err2name((rd_kafka_resp_err_t)m->dlq_err), m->dlq_reason,
                          m->cut || is_size_error((rd_kafka_resp_err_t)m->dlq_err)};
        /* The built record borrows m's strings, never h. */
        int rc = p->redirect(p->redirect_ctx, &r, m->dead);
        free(h);
        if (rc)
                return -1;
        m->dead_cut = m->cut;
        return 0;
}

/* Hands one record to librdkafka (never blocks). Caller holds p->lock.
 * Returns the librdkafka error (QUEUE_FULL is backpressure for the caller). */
static rd_kafka_resp_err_t produce_one(pb_producer_t *p, struct pb_msg *m)
{
        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(m->hdr_cnt + PB_RECORD_MAX_HEADERS);
        const char *value = m->value;
        size_t value_len = m->value_len;
        const char *topic = m->topic;
        if (m->state == MSG_DLQ) {
                /* Out of memory, the record waits (as when librdkafka is
                 * full) rather than leave without its dead letter. */
                if (build_redirect(p, m)) {
                        rd_kafka_headers_destroy(hdrs);
                        return RD_KAFKA_RESP_ERR__QUEUE_FULL;
                }
                const pb_record_t *r = &m->dead->rec;
                for (size_t i = 0; i < r->headers_cnt; i++)
                        rd_kafka_header_add(hdrs, r->headers[i].name, -1, r->headers[i].value, -1);
                topic = r->topic;
                value = r->value;
                value_len = r->value_len;
        } else {
                for (size_t i = 0; i < m->hdr_cnt; i++)
                        rd_kafka_header_add(hdrs, m->hdr_names[i], -1, m->hdr_values[i], -1);
        }
        rd_kafka_resp_err_t err =
            rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(m->key, m->key_len),
                              RD_KAFKA_V_VALUE((void *)value, value_len), RD_KAFKA_V_HEADERS(hdrs),
                              RD_KAFKA_V_OPAQUE(m), RD_KAFKA_V_END);
        if (err)
                rd_kafka_headers_destroy(hdrs); /* owned by librdkafka only on success */
        return err;
}

/* A record that cannot be produced at all. */
struct failed {
        struct pb_msg *m;
        rd_kafka_resp_err_t err;
};

/* Poll thread: produces what was requeued (dead letters, re-sends after a
 * rebuild, sends that arrived meanwhile), in send order, never blocking on a
 * full queue. Senders queue behind these until the list is empty, so order
 * holds. */
static void drain_requeue(pb_producer_t *p)
{
        for (;;) {
                struct failed fail[DRAIN_BATCH];
                size_t nfail = 0, done = 0;
                pthread_mutex_lock(&p->lock);
                if (p->rebuilding) {
                        pthread_mutex_unlock(&p->lock);
                        return;
                }
                p->rq_blocked = 0;
                int64_t now = p->record_timeout_ms ? pb_mono_ms() : 0;
                while (done < DRAIN_BATCH && p->rq_head) {
                        struct pb_msg *m = rq_pop(p);
                        /* Past its deadline its source was told it failed:
                         * sending it now would make the retry a duplicate. */
                        rd_kafka_resp_err_t err = m->expires_ms && now >= m->expires_ms
                                                      ? RD_KAFKA_RESP_ERR__MSG_TIMED_OUT
                                                      : produce_one(p, m);
                        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL ||
                            err == RD_KAFKA_RESP_ERR__FATAL) {
                                /* Retry shortly; a fatal handle is rebuilt
                                 * first by the poll loop. */
                                rq_push_front(p, m);
                                p->rq_blocked = 1;
                                break;
                        }
                        done++;
                        if (!err)
                                continue;
                        if (m->state == MSG_PRIMARY && p->redirect &&
                            is_permanent_record_error(err)) {
                                to_dead_letter_locked(p, m, err);
                                continue;
                        }
                        fail[nfail++] = (struct failed){m, err};
                }
                int more = p->rq_head && !p->rq_blocked;
                pthread_mutex_unlock(&p->lock);
                for (size_t i = 0; i < nfail; i++) {
                        struct pb_msg *m = fail[i].m;
                        char reason[512];
                        snprintf(reason, sizeof(reason), "%s%scannot produce to %s: %s",
                                 m->dlq_reason ? m->dlq_reason : "", m->dlq_reason ? "; " : "",
                                 m->state == MSG_DLQ && m->dead ? m->dead->rec.topic : m->topic,
                                 rd_kafka_err2str(fail[i].err));
                        complete(p, m, PB_FATE_FAILED, m->topic, -1, -1, fail[i].err, reason);
                }
                if (!more)
                        return;
        }
}

/* Serves librdkafka's queue (delivery reports, errors, statistics) without
 * waiting inside librdkafka. */
static void serve(pb_producer_t *p)
{
        while (rd_kafka_poll(p->rk, 0) > 0)
                ;
}

/* Purges what librdkafka holds (each record's fate comes through the
 * delivery callback: FAILED), serves those reports for up to 5 s, then
 * destroys the handle within DESTROY_MS. Returns nonzero if the teardown was
 * left running. Caller is the only user of rk (rebuild, close). */
static int purge_and_destroy(pb_producer_t *p)
{
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        int64_t until = pb_mono_ms() + 5000;
        while (rd_kafka_outq_len(p->rk) > 0 && pb_mono_ms() < until) {
                serve(p);
                pb_wake_wait(p->wake[0], 20);
        }
        serve(p);
        return pb_kafka_destroy_bounded(p->rk, 0, DESTROY_MS);
}

/* After a fatal error the handle is unusable (idempotent sequence lost):
 * fail everything over to a new handle and send it all again, oldest first.
 * Runs on the poll thread. */
static void rebuild(pb_producer_t *p, const char *why)
{
        pb_err("kafka producer fatal error: %s; rebuilding the producer and re-sending "
               "unacknowledged records",
               why);
        pthread_mutex_lock(&p->lock);
        p->rebuilding = 1; /* from here senders queue, they never touch rk */
        pthread_mutex_unlock(&p->lock);
        pthread_rwlock_wrlock(&p->rk_lock);

        purge_and_destroy(p);
        pb_wake_wait(p->wake[0], 0); /* what the old handle wrote */

        char e[512];
        while (!(p->rk = make_rk(p, e, sizeof(e)))) {
                pb_err("%s; retrying in 1s", e);
                pb_sleep_ms(1000);
        }
        pthread_mutex_lock(&p->lock);
        /* Every record the old handle held goes out again, merged with what
         * was queued meanwhile, by send order. With a record deadline they
         * fail instead: a re-send outlives the answer its source was given. */
        struct pb_msg *drop = NULL;
        for (struct pb_msg *m = p->head; m; m = m->next)
                if (m->where == IN_KAFKA && p->record_timeout_ms) {
                        m->maybe = 1;
                        m->qnext = drop;
                        drop = m;
                } else if (m->where == IN_KAFKA) {
                        rq_insert(p, m);
                }
        p->rebuilding = 0;
        p->st.rebuilds++;
        pthread_mutex_unlock(&p->lock);
        pthread_rwlock_unlock(&p->rk_lock);
        while (drop) {
                struct pb_msg *m = drop;
                drop = m->qnext;
                complete(p, m, PB_FATE_FAILED, m->topic, -1, -1, RD_KAFKA_RESP_ERR__FATAL,
                         "the Kafka producer was rebuilt after a fatal error; a record with a "
                         "deadline is not sent again");
        }
}

/* Fail-fast: a refusal has lasted fail_fast_ms (checked on the poll thread). */
static int should_give_up(pb_producer_t *p)
{
        pthread_mutex_lock(&p->lock);
        int yes = !p->refused && p->fail_fast_ms > 0 &&
                  pb_kafka_problem_is_refusal(p->st.problem) &&
                  pb_mono_ms() - p->st.problem_since_ms >= p->fail_fast_ms;
        if (yes)
                p->refused = p->st.refused = 1;
        pthread_mutex_unlock(&p->lock);
        return yes;
}

/* Fails everything pending with the refusal's reason; from here sends are
 * refused. The handle stays (close() tears it down). */
static void give_up(pb_producer_t *p)
{
        pthread_mutex_lock(&p->lock);
        pb_err("kafka: giving up: Kafka refused the bridge (%s) for %d ms: %s",
               pb_kafka_problem_name(p->st.problem), p->fail_fast_ms, p->st.problem_text);
        char why[512];
        snprintf(why, sizeof(why), "Kafka refused the bridge (%s): %s",
                 pb_kafka_problem_name(p->st.problem), p->st.problem_text);
        /* What waits in the bridge's own requeue list never reached librdkafka. */
        struct pb_msg *m;
        struct pb_msg *mine = NULL;
        while ((m = rq_pop(p)) != NULL) {
                m->qnext = mine;
                mine = m;
        }
        pthread_mutex_unlock(&p->lock);
        while (mine) {
                m = mine;
                mine = m->qnext;
                complete(p, m, PB_FATE_FAILED, m->topic, -1, -1, RD_KAFKA_RESP_ERR__PURGE_QUEUE,
                         why);
        }
        pthread_rwlock_rdlock(&p->rk_lock);
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        pthread_rwlock_unlock(&p->rk_lock);
        serve(p);
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
}

static void *poll_main(void *arg)
{
        pb_producer_t *p = arg;
        char fe[512];
        for (;;) {
                pthread_mutex_lock(&p->lock);
                int stop = p->stop;
                int ms = p->rq_blocked ? 5 : 100;
                p->st.loops++;
                pthread_mutex_unlock(&p->lock);
                if (stop)
                        break;
                pb_wake_wait(p->wake[0], ms); /* librdkafka's events, requeued work */
                serve(p);
                if (rd_kafka_fatal_error(p->rk, fe, sizeof(fe)) && !p->refused)
                        rebuild(p, fe);
                if (should_give_up(p))
                        give_up(p);
                drain_requeue(p);
        }
        return NULL;
}

static int read_max_pending(rd_kafka_conf_t *conf, uint64_t *out)
{
        char v[64];
        size_t vsz = sizeof(v);
        if (rd_kafka_conf_get(conf, "queue.buffering.max.messages", v, &vsz) != RD_KAFKA_CONF_OK)
                return -1;
        long long n = strtoll(v, NULL, 10);
        *out = n > 0 ? (uint64_t)n : 100000;
        return 0;
}

/* Frees what the producer owns but its librdkafka handle and thread: the
 * end of pb_producer_free(), and of a pb_producer_new_opts() that failed. */
static void release(pb_producer_t *p)
{
        if (p->conf_tmpl)
                rd_kafka_conf_destroy(p->conf_tmpl);
        pb_wake_close(p->wake);
        pthread_rwlock_destroy(&p->rk_lock);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p);
}

pb_producer_t *pb_producer_new_opts(const pb_config_t *cfg, const pb_producer_opts_t *opts,
                                    pb_fail_t *fail, char *errstr, size_t errsz)
{
        pb_producer_t *p = calloc(1, sizeof(*p));
        if (!p) {
                pb_setfail(fail, PB_FAIL_SYSTEM, errstr, errsz, "out of memory");
                return NULL;
        }
        if (fail) /* what is not the system's refusal below */
                *fail = PB_FAIL_CONFIG;
        p->wake[0] = p->wake[1] = -1;
        pthread_rwlock_init(&p->rk_lock, NULL);
        pthread_mutex_init(&p->lock, NULL);
        pb_cond_init(&p->cond);
        p->room_at = -1;
        if (opts) {
                p->redirect = opts->redirect;
                p->redirect_ctx = opts->redirect_ctx;
        }
        p->conf_tmpl = pb_kafka_conf(cfg, 1, errstr, errsz);
        if (!p->conf_tmpl)
                goto fail;
        if (pb_wake_open(p->wake)) {
                pb_setfail(fail, PB_FAIL_SYSTEM, errstr, errsz, "pipe: %s", strerror(errno));
                goto fail;
        }
        if (opts && opts->record_timeout_ms > 0) {
                char v[24], e[256];
                snprintf(v, sizeof(v), "%d", opts->record_timeout_ms);
                if (rd_kafka_conf_set(p->conf_tmpl, "message.timeout.ms", v, e, sizeof(e))) {
                        pb_setfail(fail, PB_FAIL_CONFIG, errstr, errsz, "record deadline %s ms: %s",
                                   v, e);
                        goto fail;
                }
                p->record_timeout_ms = opts->record_timeout_ms;
        }
        read_max_pending(p->conf_tmpl, &p->st.max_pending);
        rd_kafka_conf_set_dr_msg_cb(p->conf_tmpl, dr_cb);
        rd_kafka_conf_set_error_cb(p->conf_tmpl, error_cb);
        rd_kafka_conf_set_stats_cb(p->conf_tmpl, stats_cb);
        p->rk = make_rk(p, errstr, errsz);
        if (!p->rk) /* librdkafka checks its properties (files, SASL) here */
                goto fail;
        if (pthread_create(&p->thread, NULL, poll_main, p)) {
                pb_setfail(fail, PB_FAIL_SYSTEM, errstr, errsz, "cannot start the producer thread");
                goto fail;
        }
        p->thread_started = 1;
        return p;
fail:
        if (p->rk)
                rd_kafka_destroy(p->rk);
        release(p);
        return NULL;
}

int pb_producer_send(pb_producer_t *p, const pb_record_t *rec, pb_done_fn *cb, void *opaque,
                     int timeout_ms, char *errstr, size_t errsz)
{
        struct pb_msg *m = msg_new(rec, cb, opaque);
        if (!m)
                return pb_seterr(errstr, errsz, "out of memory"), PB_SEND_ERROR;
        int64_t deadline = timeout_ms < 0 ? INT64_MAX : pb_mono_ms() + timeout_ms;
        pthread_mutex_lock(&p->lock);
        for (;;) {
                if (p->closing) {
                        pthread_mutex_unlock(&p->lock);
                        msg_free(m);
                        pb_seterr(errstr, errsz, "the producer is shutting down");
                        return PB_SEND_CLOSED;
                }
                if (p->refused) {
                        pb_seterr(errstr, errsz, "Kafka refused the bridge (%s): %s",
                                  pb_kafka_problem_name(p->st.problem), p->st.problem_text);
                        pthread_mutex_unlock(&p->lock);
                        msg_free(m);
                        return PB_SEND_ERROR;
                }
                int full = p->st.pending >= p->st.max_pending;
                if (!full) {
                        if (p->record_timeout_ms)
                                m->expires_ms = pb_mono_ms() + p->record_timeout_ms;
                        pending_add(p, m);
                        p->st.sent++;
                        /* Behind older records, the poll thread produces
                         * them all in order. */
                        int behind = p->rebuilding || p->rq_head != NULL;
                        rd_kafka_resp_err_t err =
                            behind ? RD_KAFKA_RESP_ERR_NO_ERROR : produce_one(p, m);
                        if (!behind && !err) {
                                m->where = IN_KAFKA;
                                pthread_mutex_unlock(&p->lock);
                                return PB_SEND_OK;
                        }
                        /* A handle that just died is about to be rebuilt by
                         * the poll thread, which sends this too. A record
                         * refused before it left (larger than
                         * message.max.bytes) is dead-lettered from there. */
                        if (behind || err == RD_KAFKA_RESP_ERR__FATAL ||
                            is_permanent_record_error(err)) {
                                if (behind || err == RD_KAFKA_RESP_ERR__FATAL)
                                        rq_insert(p, m);
                                else
                                        to_dead_letter_locked(p, m, err);
                                pthread_mutex_unlock(&p->lock);
                                wake_poller(p);
                                return PB_SEND_OK;
                        }
                        pending_unlink(p, m);
                        p->st.pending--;
                        p->st.sent--;
                        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                                pthread_mutex_unlock(&p->lock);
                                msg_free(m);
                                pb_seterr(errstr, errsz, "cannot enqueue for %s: %s", rec->topic,
                                          rd_kafka_err2str(err));
                                return PB_SEND_ERROR;
                        }
                }
                /* Full: wait for deliveries to make room, or refuse. */
                int64_t left = deadline - pb_mono_ms();
                if (left <= 0) {
                        pthread_mutex_unlock(&p->lock);
                        msg_free(m);
                        pb_seterr(errstr, errsz,
                                  "the Kafka queue is full (%llu records waiting for Kafka)",
                                  (unsigned long long)p->st.pending);
                        return PB_SEND_BUSY;
                }
                /* A quarter of what is in flight must be done first. */
                p->room_at = (int64_t)p->st.pending - (int64_t)p->st.pending / 4 - 1;
                pb_cond_timedwait_ms(&p->cond, &p->lock, left < 50 ? left : 50);
                p->room_at = -1;
        }
}

int pb_producer_inject_fatal(pb_producer_t *p, const char *reason)
{
        pthread_rwlock_rdlock(&p->rk_lock);
        rd_kafka_resp_err_t err = rd_kafka_test_fatal_error(
            p->rk, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, reason);
        pthread_rwlock_unlock(&p->rk_lock);
        wake_poller(p);
        return err ? PB_ERR : 0;
}

int pb_producer_warmup(pb_producer_t *p, const char *const *topics, size_t n, int timeout_ms)
{
        int found = 0;
        int64_t deadline = pb_mono_ms() + timeout_ms;
        for (size_t i = 0; i < n; i++) {
                pthread_rwlock_rdlock(&p->rk_lock);
                /* Auto-creation may take a moment: ask again until it shows. */
                for (;;) {
                        char why[PB_ERRSZ] = "not available";
                        if (pb_kafka_partitions(p->rk, topics[i], (int)(deadline - pb_mono_ms()),
                                                NULL, 0, why, sizeof(why)) > 0) {
                                found++;
                                break;
                        }
                        if (pb_mono_ms() >= deadline) {
                                pb_warn("kafka: no metadata for topic %s yet (%s)", topics[i], why);
                                break;
                        }
                        pb_sleep_ms(100);
                }
                pthread_rwlock_unlock(&p->rk_lock);
        }
        if (found) {
                /* A broker answered: ready now, not at the first statistics
                 * tick (librdkafka's timers run on the wall clock). */
                pthread_mutex_lock(&p->lock);
                p->st.brokers_up = 1;
                pthread_mutex_unlock(&p->lock);
        }
        return found;
}

size_t pb_producer_flush(pb_producer_t *p, int timeout_ms)
{
        int64_t deadline = timeout_ms < 0 ? INT64_MAX : pb_mono_ms() + timeout_ms;
        pthread_mutex_lock(&p->lock);
        while (p->st.pending > 0) {
                int64_t left = deadline - pb_mono_ms();
                if (left <= 0)
                        break;
                pb_cond_timedwait_ms(&p->cond, &p->lock, left < 100 ? left : 100);
        }
        size_t left = p->st.pending;
        pthread_mutex_unlock(&p->lock);
        return left;
}

void pb_producer_stats(pb_producer_t *p, pb_producer_stats_t *out)
{
        pthread_mutex_lock(&p->lock);
        *out = p->st;
        pthread_mutex_unlock(&p->lock);
}

size_t pb_producer_close(pb_producer_t *p)
{
        pthread_mutex_lock(&p->lock);
        if (p->closed) {
                pthread_mutex_unlock(&p->lock);
                return 0;
        }
        p->closing = 1; /* senders are refused from here */
        p->stop = 1;
        uint64_t failed_before = p->st.failed;
        pthread_mutex_unlock(&p->lock);
        wake_poller(p);
        if (p->thread_started)
                pthread_join(p->thread, NULL);

        /* Only this thread touches rk now. What librdkafka holds gets its
         * fate through the delivery callback (FAILED: shutdown). */
        if (purge_and_destroy(p))
                p->abandoned = 1; /* its threads may still call our callbacks */
        p->rk = NULL;
        /* Whatever is left (queued in the bridge, or never reported) gets its
         * fate here: every record's callback runs exactly once. */
        pthread_mutex_lock(&p->lock);
        p->rq_head = p->rq_tail = NULL;
        p->st.queued = 0;
        pthread_mutex_unlock(&p->lock);
        for (;;) {
                pthread_mutex_lock(&p->lock);
                struct pb_msg *m = p->head;
                pthread_mutex_unlock(&p->lock);
                if (!m)
                        break;
                m->maybe = m->where == IN_KAFKA; /* never reported: it may have been sent */
                complete(p, m, PB_FATE_FAILED, m->topic, -1, -1, RD_KAFKA_RESP_ERR__DESTROY,
                         "shutdown before Kafka acknowledged the record");
        }
        pthread_mutex_lock(&p->lock);
        p->closed = 1;
        size_t failed = (size_t)(p->st.failed - failed_before);
        pthread_mutex_unlock(&p->lock);
        return failed;
}

void pb_producer_free(pb_producer_t *p)
{
        if (!p)
                return;
        pb_producer_close(p);
        if (p->abandoned)
                return; /* librdkafka may still reach it; the process is exiting */
        release(p);
}

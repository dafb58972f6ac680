#include "normalize.h"

#include <json-c/json.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_types.h"
#include "json_spans.h"
#include "json_write.h"
#include "jsoncheck.h"
#include "pb.h"
#include "privacy.h"
#include "timefmt.h"

#define ERR_MAX 512

const char *pb_ingest_name(pb_ingest_path_t p)
{
        switch (p) {
        case PB_INGEST_WEBHOOK: return "webhook";
        case PB_INGEST_REST: return "rest";
        case PB_INGEST_FILE: break;
        }
        return "file";
}

static void item_reject(pb_norm_item_t *it, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* item_reject() as the -1 a parse step returns (an expression the static
 * analyzer can follow: it does not look into variadic functions). */
#define REJECTED(...) (item_reject(__VA_ARGS__), -1)

static void item_reject(pb_norm_item_t *it, const char *fmt, ...)
{
        char msg[ERR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        it->error = strdup(msg);
}

static const char *jtype(json_object *o)
{
        return o ? json_type_to_name(json_object_get_type(o)) : "null";
}

/* Joins a field path for error messages: "" + "id" -> "id", "data" + "id" ->
 * "data.id". */
static void field_path(char *out, size_t outsz, const char *prefix, const char *name)
{
        size_t pl = strlen(prefix), nl = strlen(name), o = 0;
        if (!outsz)
                return;
        /* (snprintf's cut, without its cost: a path is built for each event) */
        size_t c = pl < outsz - 1 ? pl : outsz - 1;
        memcpy(out, prefix, c);
        o = c;
        if (pl && o < outsz - 1)
                out[o++] = '.';
        c = nl < outsz - 1 - o ? nl : outsz - 1 - o;
        memcpy(out + o, name, c);
        out[o + c] = '\0';
}

/* 1 if s[0..n) cannot be an identifier: empty, longer than PB_MAX_ID_LEN,
 * or holding a control character (both normalize paths ask this). */
static int ident_problem(const char *s, size_t n)
{
        if (n == 0 || n > PB_MAX_ID_LEN)
                return 1;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return 1;
        return 0;
}

/* Reads an identifier-like string field. Returns 1 found, 0 absent or null,
 * -1 invalid (it->error set). */
static int get_ident(pb_norm_item_t *it, json_object *obj, const char *prefix, const char *name,
                     const char **out)
{
        json_object *v;
        if (!obj || !json_object_object_get_ex(obj, name, &v) || v == NULL)
                return 0;
        /* The field's path is written only for a refusal: snprintf on every
         * lookup was 3% of normalizing. */
        char path[160];
        if (!json_object_is_type(v, json_type_string)) {
                field_path(path, sizeof(path), prefix, name);
                return REJECTED(it, "field \"%s\" must be a string, got %s", path, jtype(v));
        }
        const char *s = json_object_get_string(v);
        size_t n = (size_t)json_object_get_string_len(v);
        if (ident_problem(s, n)) {
                field_path(path, sizeof(path), prefix, name);
                if (n == 0)
                        return REJECTED(it, "field \"%s\" must not be empty", path);
                if (n > PB_MAX_ID_LEN)
                        return REJECTED(it, "field \"%s\" is %zu bytes, longer than %d", path, n,
                                        PB_MAX_ID_LEN);
                return REJECTED(it, "field \"%s\" contains a control character", path);
        }
        *out = s;
        return 1;
}

static int require_ident(pb_norm_item_t *it, json_object *obj, const char *prefix, const char *name,
                         const char *what, const char **out)
{
        int rc = get_ident(it, obj, prefix, name, out);
        if (rc == 0) {
                char path[160];
                field_path(path, sizeof(path), prefix, name);
                return REJECTED(it, "missing field \"%s\" (%s)", path, what);
        }
        return rc < 0 ? -1 : 0;
}

/* Finds the port-out id: top-level portout_id (REST), else in the payload
 * member its event type's row names (event_types.h; docs/telnyx-api.md §4:
 * new_comment's payload.id is the comment's id); unknown types ->
 * payload.portout_id only, never a guess. */
static int find_portout_id(pb_norm_item_t *it, json_object *rec, const char *prefix,
                           const char *event_type, const char **out)
{
        int rc = get_ident(it, rec, prefix, "portout_id", out);
        if (rc != 0)
                return rc < 0 ? -1 : 0;

        json_object *payload = NULL;
        json_object_object_get_ex(rec, "payload", &payload);
        char pprefix[160];
        field_path(pprefix, sizeof(pprefix), prefix, "payload");
        const pb_event_type_t *et = pb_event_type_find(event_type);
        const char *pfield = et ? et->id_field : "portout_id";
        if (payload && !json_object_is_type(payload, json_type_object))
                return REJECTED(it, "field \"%s\" must be an object or null, got %s", pprefix,
                                jtype(payload));
        rc = get_ident(it, payload, pprefix, pfield, out);
        if (rc > 0)
                return 0;
        if (rc == 0) {
                char a[160], b[160];
                field_path(a, sizeof(a), prefix, "portout_id");
                field_path(b, sizeof(b), pprefix, pfield);
                item_reject(it, "missing port-out id: neither \"%s\" nor \"%s\" is present%s", a, b,
                            payload ? "" : " (payload is null or absent)");
        }
        return -1;
}

/* Picks the envelope time: occurred_at (webhook), else created_at (REST),
 * else the receive time. Unparseable values fall through; they stay visible
 * in data.telnyx. */
static void pick_time(json_object *rec, int64_t received_us, char *out, size_t outsz)
{
        static const char *const fields[] = {"occurred_at", "created_at"};
        for (size_t i = 0; i < 2; i++) {
                json_object *v;
                int64_t us;
                if (json_object_object_get_ex(rec, fields[i], &v) &&
                    json_object_is_type(v, json_type_string) &&
                    pb_time_parse_rfc3339(json_object_get_string(v), &us) == 0 &&
                    pb_time_format_us(us, out, outsz) == 0)
                        return;
        }
        pb_time_format_us(received_us, out, outsz);
}

/* Copies every member of src except the skipped names into dst (shared
 * references, not copies). Members already in dst keep their value; a clashing
 * member is stored as "<prefix><name>", the prefix repeated until the name is
 * free, so no member overwrites another. Returns -1 (the clashing name in
 * clash) if a name grows too long. */
static int merge_members(json_object *dst, json_object *src, const char *const *skip,
                         const char *clash_prefix, char *clash, size_t clashsz)
{
        if (!src || !json_object_is_type(src, json_type_object))
                return 0;
        json_object_object_foreach(src, key, val)
        {
                size_t i = 0;
                while (skip && skip[i] && strcmp(skip[i], key) != 0)
                        i++;
                if (skip && skip[i])
                        continue; /* skipped */
                if (json_object_object_get_ex(dst, key, NULL)) {
                        char k2[256];
                        size_t pl = strlen(clash_prefix), kl = strlen(key), reps = 1;
                        do {
                                if (reps * pl + kl >= sizeof(k2)) {
                                        snprintf(clash, clashsz, "%.64s", key);
                                        return -1;
                                }
                                size_t o = 0;
                                for (size_t r = 0; r < reps; r++)
                                        o += (size_t)snprintf(k2 + o, sizeof(k2) - o, "%s",
                                                              clash_prefix);
                                snprintf(k2 + o, sizeof(k2) - o, "%s", key);
                                reps++;
                        } while (json_object_object_get_ex(dst, k2, NULL));
                        json_object_object_add(dst, k2, json_object_get(val));
                } else {
                        json_object_object_add(dst, key, json_object_get(val));
                }
        }
        return 0;
}

static void envelope_free(pb_envelope_t *e)
{
        if (!e)
                return;
        free(e->json);
        free(e); /* and its strings, which follow it (envelope_new) */
}

/* A member of data.telnyx read from the text (the common case): its name
 * as written, or a prefixed one for a clash, and its value's bytes. */
struct tmember {
        const char *name;
        size_t name_len;
        const char *val; /* JSON text (checked) */
        size_t val_len;
        size_t clen;  /* its bytes as written (pb_jspan_canon_len) */
        int verbatim; /* those bytes are val's own */
};

/* How a member's value is written. */
enum mkind {
        MK_STR,  /* val[0..len) as a JSON string */
        MK_JV,   /* jv, a parsed value (NULL: null) */
        MK_SPAN, /* val[0..len), JSON text, as json-c would write it (NULL: null) */
        MK_OBJ,  /* an object of tm[0..ntm) */
};

/* One member of the envelope: a key (plain ASCII, no escaping needed) and
 * its value. */
#define KEY(k) k, sizeof(k) - 1 /* a key and its length, from a literal */
struct member {
        const char *key;
        size_t klen;
        const char *val;
        size_t len;
        enum mkind kind;
        json_object *jv;
        const struct tmember *tm; /* MK_OBJ; MK_SPAN: tm[0] sizes val */
        size_t ntm;
};

static size_t member_len(const struct member *m)
{
        switch (m->kind) {
        case MK_JV: return pb_json_value_len(m->jv);
        case MK_SPAN: return m->val ? m->tm->clen : 4;
        case MK_OBJ: {
                size_t n = 2 + (m->ntm ? m->ntm - 1 : 0);
                for (size_t i = 0; i < m->ntm; i++)
                        n += m->tm[i].name_len + 3 + m->tm[i].clen;
                return n;
        }
        case MK_STR: break;
        }
        return pb_json_string_len(m->val, m->len);
}

/* Copies n bytes (no terminator: o is inside a buffer being written). */
static char *put_bytes(char *o, const void *src, size_t n)
{
        memcpy(o, src, n);
        return o + n;
}

static char *member_put(char *o, const struct member *m)
{
        switch (m->kind) {
        case MK_JV: return pb_json_value_put(o, m->jv);
        case MK_SPAN:
                if (!m->val)
                        return put_bytes(o, "null", 4);
                return m->tm->verbatim ? put_bytes(o, m->val, m->len)
                                       : pb_jspan_canon_put(o, m->val, m->len);
        case MK_OBJ:
                *o++ = '{';
                for (size_t i = 0; i < m->ntm; i++) {
                        if (i)
                                *o++ = ',';
                        *o++ = '"';
                        memcpy(o, m->tm[i].name, m->tm[i].name_len);
                        o += m->tm[i].name_len;
                        *o++ = '"';
                        *o++ = ':';
                        o = m->tm[i].verbatim
                                ? put_bytes(o, m->tm[i].val, m->tm[i].val_len)
                                : pb_jspan_canon_put(o, m->tm[i].val, m->tm[i].val_len);
                }
                *o++ = '}';
                return o;
        case MK_STR: break;
        }
        return pb_json_string_put(o, m->val, m->len);
}

/* The payload's fingerprint; never 0 (0 means "none"). */
static uint64_t fingerprint(const char *s, size_t n)
{
        uint64_t h = pb_hash64(s, n);
        return h ? h : 1;
}

/* Writes {"k":v,...} for members into one exact-size allocation. data
 * (members of the nested "data" object) goes last, under "data". */
static char *write_envelope(const struct member *m, size_t n, const struct member *data,
                            size_t ndata, size_t *outlen, size_t *data_off, size_t *data_len,
                            uint64_t *payload_hash)
{
        size_t total = 2 + 2 + 7 + 2; /* {} , "data": {} */
        for (size_t i = 0; i < n; i++)
                total += m[i].klen + 4 + member_len(&m[i]);
        for (size_t i = 0; i < ndata; i++)
                total += data[i].klen + 4 + member_len(&data[i]);
        char *buf = malloc(total + 1), *o = buf;
        if (!buf)
                return NULL;
        *o++ = '{';
        for (int part = 0; part < 2; part++) {
                const struct member *mm = part ? data : m;
                size_t nn = part ? ndata : n;
                if (part) {
                        memcpy(o, ",\"data\":{", 9);
                        o += 9;
                        *data_off = (size_t)(o - 1 - buf);
                }
                for (size_t i = 0; i < nn; i++) {
                        if (i)
                                *o++ = ',';
                        *o++ = '"';
                        o = put_bytes(o, mm[i].key, mm[i].klen);
                        *o++ = '"';
                        *o++ = ':';
                        char *v = o;
                        o = member_put(o, &mm[i]);
                        if (part && !strcmp(mm[i].key, "payload"))
                                *payload_hash = fingerprint(v, (size_t)(o - v));
                }
        }
        *o++ = '}';
        *data_len = (size_t)(o - buf) - *data_off;
        *o++ = '}';
        *o = '\0';
        *outlen = (size_t)(o - buf);
        return buf;
}

/* The strings an envelope copies. */
struct env_fields {
        const char *id, *type, *event_type, *portout_id, *time, *received;
};

/* An envelope owning js (freed on failure too); NULL when out of memory. */
static pb_envelope_t *envelope_new(const pb_norm_opts_t *opts, const pb_ingest_t *ingest,
                                   const struct env_fields *f, char *js, size_t jlen, size_t doff,
                                   size_t dlen, uint64_t phash, int64_t created_us)
{
        /* One allocation for the struct and its strings: seven strdup()s
         * and their frees were a tenth of an envelope's heap work. */
        const char *src[7] = {f->id,        f->type, f->event_type, f->portout_id,
                              opts->source, f->time, f->received};
        size_t len[7], total = sizeof(pb_envelope_t);
        for (int i = 0; i < 7; i++)
                total += (len[i] = strlen(src[i] ? src[i] : "")) + 1;
        pb_envelope_t *e = js ? calloc(1, total) : NULL;
        if (!e) {
                free(js);
                return NULL;
        }
        char *p = (char *)(e + 1), **dst[7] = {&e->id,     &e->type, &e->event_type, &e->portout_id,
                                               &e->source, &e->time, &e->received};
        for (int i = 0; i < 7; i++) {
                *dst[i] = p;
                memcpy(p, src[i] ? src[i] : "", len[i] + 1);
                p += len[i] + 1;
        }
        e->ingest = pb_ingest_name(ingest->path);
        e->created_us = created_us;
        e->json = js;
        e->json_len = jlen;
        e->data_off = doff;
        e->data_len = dlen;
        e->payload_hash = phash;
        return e;
}

/* Writes an event's envelope, in the order and bytes json-c would use for
 * the same object (test_normalize checks that a json-c round trip
 * reproduces it; building a json-c tree only to serialize it was a quarter
 * of a replay's time), with data's payload and telnyx members as given. */
static pb_envelope_t *event_envelope(const pb_norm_opts_t *opts, const pb_ingest_t *ingest,
                                     const struct env_fields *f, const struct member *payload,
                                     const struct member *telnyx, int64_t created_us)
{
#define M(k, v)                                                                                    \
        {                                                                                          \
                KEY(k), v, strlen(v), MK_STR, NULL, NULL, 0                                        \
        }
        const struct member env[] = {
            M("specversion", "1.0"),
            M("id", f->id),
            M("source", opts->source),
            M("type", f->type),
            M("subject", f->portout_id),
            M("time", f->time),
            M("datacontenttype", "application/json"),
            M("partitionkey", f->portout_id),
            M("ingestpath", pb_ingest_name(ingest->path)),
            M("receivedat", f->received),
        };
        const struct member data[] = {
            M("event_type", f->event_type),
            M("portout_id", f->portout_id),
            *payload,
            *telnyx,
        };
#undef M
        size_t jlen = 0, doff = 0, dlen = 0;
        uint64_t phash = 1;
        char *js = write_envelope(env, sizeof(env) / sizeof(env[0]), data,
                                  sizeof(data) / sizeof(data[0]), &jlen, &doff, &dlen, &phash);
        return envelope_new(opts, ingest, f, js, jlen, doff, dlen, phash, created_us);
}

/* Builds the envelope of one event record. meta and top are the webhook's
 * delivery metadata and other top-level members (NULL for REST records). */
static void normalize_record(const pb_norm_opts_t *opts, const pb_ingest_t *ingest,
                             json_object *rec, const char *prefix, json_object *meta,
                             json_object *top, pb_norm_item_t *it)
{
        const char *id, *event_type, *portout_id;
        char path[160];

        if (require_ident(it, rec, prefix, "id", "the event id", &id) ||
            require_ident(it, rec, prefix, "event_type", "the event type", &event_type) ||
            find_portout_id(it, rec, prefix, event_type, &portout_id))
                return;
        json_object *payload = NULL;
        json_object_object_get_ex(rec, "payload", &payload);
        if (payload && !json_object_is_type(payload, json_type_object)) {
                field_path(path, sizeof(path), prefix, "payload");
                item_reject(it, "field \"%s\" must be an object or null, got %s", path,
                            jtype(payload));
                return;
        }

        char tbuf[40], rbuf[40], type[300];
        pick_time(rec, ingest->received_us, tbuf, sizeof(tbuf));
        pb_time_format_us(ingest->received_us, rbuf, sizeof(rbuf));
        snprintf(type, sizeof(type), PB_CE_TYPE_PREFIX "%s", event_type);

        json_object *telnyx = json_object_new_object();
        if (!telnyx) {
                item_reject(it, "out of memory building the envelope");
                return;
        }
        static const char *const skip_rec[] = {"id", "event_type", "portout_id", "payload", NULL};
        static const char *const skip_top[] = {"data", "meta", NULL};
        char clash[80];
        if (merge_members(telnyx, rec, skip_rec, "", clash, sizeof(clash)) ||
            merge_members(telnyx, meta, NULL, "meta_", clash, sizeof(clash)) ||
            merge_members(telnyx, top, skip_top, "top_", clash, sizeof(clash))) {
                json_object_put(telnyx);
                item_reject(it, "member \"%s\" clashes with others of its name", clash);
                return;
        }

        /* The privacy policy works on copies: the document stays as given
         * (a dead letter or a second item may still need it). */
        json_object *pcopy = NULL;
        /* Only when it changes something: copying every payload for a
         * policy that finds no PIN in it was 4% of normalizing. */
        if (pb_privacy_active(opts->privacy) &&
            (pb_privacy_reaches(opts->privacy, "payload", payload) ||
             pb_privacy_reaches(opts->privacy, "telnyx", telnyx))) {
                json_object *d = json_object_new_object();
                if (payload && json_object_deep_copy(payload, &pcopy, NULL) != 0)
                        pcopy = NULL;
                if (!d || (payload && !pcopy)) {
                        json_object_put(d);
                        json_object_put(telnyx);
                        item_reject(it, "out of memory building the envelope");
                        return;
                }
                json_object_object_add(d, "payload", pcopy);
                json_object_object_add(d, "telnyx", json_object_get(telnyx));
                pb_privacy_apply(opts->privacy, d);
                json_object *v = NULL;
                payload = json_object_object_get_ex(d, "payload", &v) ? json_object_get(v) : NULL;
                if (!json_object_object_get_ex(d, "telnyx", &v) || v != telnyx) {
                        json_object_put(telnyx); /* dropped, or replaced whole */
                        telnyx = json_object_object_get_ex(d, "telnyx", &v)
                                     ? json_object_get(v)
                                     : json_object_new_object();
                }
                pcopy = payload; /* ours to put */
                json_object_put(d);
        }

        const struct member pm = {KEY("payload"), NULL, 0, MK_JV, payload, NULL, 0};
        const struct member tm = {KEY("telnyx"), NULL, 0, MK_JV, telnyx, NULL, 0};

        int64_t created_us = 0;
        json_object *cv;
        if (json_object_object_get_ex(rec, "created_at", &cv) &&
            json_object_is_type(cv, json_type_string) &&
            pb_time_parse_rfc3339(json_object_get_string(cv), &created_us) != 0)
                created_us = 0;
        const struct env_fields f = {id, type, event_type, portout_id, tbuf, rbuf};
        it->env = event_envelope(opts, ingest, &f, &pm, &tm, created_us);
        json_object_put(telnyx);
        json_object_put(pcopy);
        if (!it->env)
                item_reject(it, "out of memory building the envelope");
}

static pb_norm_item_t *batch_add(pb_batch_t *b, size_t *cap)
{
        if (b->cnt == *cap) {
                size_t ncap = *cap ? *cap * 2 : 4;
                pb_norm_item_t *n = realloc(b->items, ncap * sizeof(*n));
                if (!n)
                        return NULL;
                b->items = n;
                *cap = ncap;
        }
        pb_norm_item_t *it = &b->items[b->cnt++];
        memset(it, 0, sizeof(*it));
        return it;
}

static int set_raw(pb_norm_item_t *it, const char *buf, size_t len)
{
        it->raw = malloc(len + 1);
        if (!it->raw)
                return -1;
        memcpy(it->raw, buf, len);
        it->raw[len] = '\0';
        it->raw_len = len;
        return 0;
}

/* The whole document's bytes for a rejection; re-serialized when the caller
 * handed over a parsed tree without them. */
static int set_raw_doc(pb_norm_item_t *it, json_object *root, const char *buf, size_t len)
{
        if (!buf)
                buf = json_object_to_json_string_length(
                    root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        return set_raw(it, buf, len);
}

static int is_ws(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int str_member_is(json_object *o, const char *k, const char *want)
{
        json_object *v;
        return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) &&
               strcmp(json_object_get_string(v), want) == 0;
}

/* One element of a REST list response, with its own bytes; why says it is
 * not valid JSON (NULL: it is). Returns 0, or -1 when out of memory. */
static int list_item(const pb_norm_opts_t *opts, const pb_ingest_t *ingest, json_object *el,
                     size_t i, const char *raw, size_t raw_len, const char *why, pb_batch_t *b,
                     size_t *cap)
{
        pb_norm_item_t *it = batch_add(b, cap);
        if (!it || set_raw(it, raw, raw_len))
                return -1;
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "data[%zu]", i);
        if (why)
                item_reject(it, "not valid JSON: %s: %s", prefix, why);
        else if (!json_object_is_type(el, json_type_object))
                item_reject(it, "field \"%s\" must be an object, got %s", prefix, jtype(el));
        else
                normalize_record(opts, ingest, el, prefix, NULL, NULL, it);
        return 0;
}

static int normalize_fast(const pb_norm_opts_t *opts, const char *buf, size_t len,
                          const pb_ingest_t *ingest, int bare, pb_batch_t *b, size_t *cap);

/* Shape detection and per-event normalization of a parsed document (borrowed).
 * raw/len are the document's bytes for whole-document rejections; jc, when
 * not NULL, says they passed pb_json_check() and where a list's elements
 * lie. Returns 0, or -1 when out of memory. */
static int normalize_root(const pb_norm_opts_t *opts, json_object *root, const char *buf,
                          size_t len, const pb_jcheck_t *jc, const pb_ingest_t *ingest,
                          pb_batch_t *b, size_t *cap)
{
        json_object *data = NULL, *meta = NULL;
        int is_obj = json_object_is_type(root, json_type_object);
        int has_data = is_obj && json_object_object_get_ex(root, "data", &data);
        if (json_object_is_type(data, json_type_array)) {
                /* A REST list response: one item per element; meta is paging. */
                size_t n = json_object_array_length(data);
                int spans = jc && jc->items_ok && jc->nitems == n;
                for (size_t i = 0; i < n; i++) {
                        json_object *el = json_object_array_get_idx(data, i);
                        size_t elen = 0;
                        const char *ejs;
                        if (spans) {
                                /* Its own checked bytes: on the span path
                                 * when it can be (a backfill's pages were
                                 * a quarter of its time in json-c), and for
                                 * a dead letter, as sent. */
                                ejs = buf + jc->items[i].off;
                                elen = jc->items[i].len;
                                int fr = opts->tree_only
                                             ? 0
                                             : normalize_fast(opts, ejs, elen, ingest, 1, b, cap);
                                if (fr < 0)
                                        return -1;
                                if (fr > 0)
                                        continue;
                        } else {
                                ejs = json_object_to_json_string_length(
                                    el, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                    &elen);
                        }
                        if (list_item(opts, ingest, el, i, ejs, elen, NULL, b, cap))
                                return -1;
                }
                return 0;
        }
        pb_norm_item_t *it = batch_add(b, cap);
        if (!it || set_raw_doc(it, root, buf, len))
                return -1;
        if (!is_obj) {
                item_reject(it, "input is a JSON %s, expected an object", jtype(root));
        } else if (!has_data) {
                /* A bare REST event record. */
                normalize_record(opts, ingest, root, "", NULL, NULL, it);
        } else if (json_object_is_type(data, json_type_object)) {
                json_object_object_get_ex(root, "meta", &meta);
                /* A webhook delivery says record_type "event"; a show response
                 * says "portout_event". Only webhooks carry delivery meta. */
                int webhook = str_member_is(data, "record_type", "event") ||
                              (!str_member_is(data, "record_type", "portout_event") && meta &&
                               (json_object_object_get_ex(meta, "attempt", NULL) ||
                                json_object_object_get_ex(meta, "delivered_to", NULL)));
                normalize_record(opts, ingest, data, "data", webhook ? meta : NULL, root, it);
        } else {
                item_reject(it, "field \"data\" must be an object or an array, got %s",
                            jtype(data));
        }
        return 0;
}

/* Counts the rejected items and puts the privacy policy on their bytes:
 * a dead letter's value, and the SHA-256 that names it, must not be a way
 * back to what the policy protects. -1 when out of memory. */
static int finish_rejected(const pb_norm_opts_t *opts, pb_batch_t *b)
{
        for (size_t i = 0; i < b->cnt; i++) {
                pb_norm_item_t *it = &b->items[i];
                if (it->env)
                        continue;
                b->rejected++;
                char *out;
                size_t n;
                int rc = pb_privacy_scrub(opts->privacy, it->raw, it->raw_len, &out, &n);
                if (rc < 0)
                        return -1;
                if (rc > 0) {
                        sodium_memzero(it->raw, it->raw_len);
                        free(it->raw);
                        it->raw = out;
                        it->raw_len = n;
                        it->redacted = 1;
                }
        }
        return 0;
}

/* 1 if buf is one whole JSON value (however unpublishable) that is not an
 * object or an array. */
static int json_whole_scalar(const char *buf, size_t len)
{
        pb_jcheck_t jc;
        memset(&jc, 0, sizeof(jc));
        size_t i = 0;
        while (i < len && is_ws(buf[i]))
                i++;
        return i < len && buf[i] != '{' && buf[i] != '[' && pb_json_check(buf, len, &jc) >= 0;
}

/* The type of the scalar json_whole_scalar() found, as jtype() names it. */
static const char *scalar_name(const char *buf, size_t len)
{
        size_t i = 0;
        while (i < len && is_ws(buf[i]))
                i++;
        char c = i < len ? buf[i] : 'n';
        return c == '"'               ? "string"
               : c == 't' || c == 'f' ? "boolean"
               : c == 'n'             ? "null"
                                      : "number";
}

/* Rejects the whole document with reason why (not valid JSON to publish). */
static int reject_doc(pb_batch_t *b, size_t *cap, const char *buf, size_t len, const char *why)
{
        pb_norm_item_t *it = batch_add(b, cap);
        if (!it || set_raw(it, buf, len))
                return -1;
        item_reject(it, "not valid JSON: %s", why);
        return 0;
}

/* A list response of which some elements cannot be published as sent:
 * those are rejected with their own bytes and reason, the others go on. */
static int normalize_list_split(const pb_norm_opts_t *opts, json_object *root, const char *buf,
                                size_t len, const pb_jcheck_t *jc, const pb_ingest_t *ingest,
                                pb_batch_t *b, size_t *cap)
{
        json_object *data = NULL;
        if (!json_object_object_get_ex(root, "data", &data) ||
            !json_object_is_type(data, json_type_array) ||
            json_object_array_length(data) != jc->nitems)
                return reject_doc(b, cap, buf, len, jc->why);
        for (size_t i = 0; i < jc->nitems; i++) {
                const pb_jitem_t *span = &jc->items[i];
                pb_jcheck_t one;
                memset(&one, 0, sizeof(one));
                if (span->bad)
                        pb_json_check(buf + span->off, span->len, &one);
                if (list_item(opts, ingest, json_object_array_get_idx(data, i), i, buf + span->off,
                              span->len, span->bad ? one.why : NULL, b, cap))
                        return -1;
        }
        return 0;
}

/* ---- The common case, from the text's own spans ----
 *
 * A webhook delivery or a bare REST record whose text pb_json_check()
 * passed, that will become an envelope: its members are read where they lie
 * and the envelope is written from them, in the bytes the json-c path gives
 * (json_spans.h). Anything else (a refusal of any kind, a list, a name with
 * an escape, a string that must be decoded to be compared, a member the
 * privacy policy reaches, a clash too long) goes the json-c path: that
 * path alone words refusals, so the two cannot disagree on one. Fuzzing
 * (fuzz_normalize) compares both on every input. */

#define FAST_MAX_MEMBERS 64
#define FAST_MAX_TELNYX  ((size_t)FAST_MAX_MEMBERS * 3)
/* json-c refuses nesting deeper than 32 levels: far enough below it that a
 * payload (three levels down) written here is one json-c read. */
#define FAST_MAX_DEPTH 24
#define FAST_NAMES     4096

/* A string value usable as an identifier, as get_ident() accepts it; NULL
 * if get_ident() would not (absent, null, another type, empty, too long, a
 * control character) or it has an escape. */
static const char *fast_ident(const pb_jmember_t *m, size_t *len)
{
        if (!m)
                return NULL;
        const char *s = pb_jspan_plain_str(m->val, m->val_len, len);
        return s && !ident_problem(s, *len) ? s : NULL;
}

/* A time member as pick_time() reads it: 1 parsed (*us), 0 not usable
 * (absent, not a string, not a time), -1 undecidable here (an escape, or
 * too long to copy). */
static int fast_time(const pb_jmember_t *m, int64_t *us)
{
        if (!m || pb_jspan_kind(m->val, m->val_len) != '"')
                return 0;
        size_t n = 0;
        const char *s = pb_jspan_plain_str(m->val, m->val_len, &n);
        char t[64];
        if (!s || n >= sizeof(t))
                return -1;
        memcpy(t, s, n);
        t[n] = '\0';
        return pb_time_parse_rfc3339(t, us) == 0 ? 1 : 0;
}

/* What the policy does to this event, as far as the spans can say: 0 it
 * changes nothing, or only drops members of the payload itself (their names
 * added to drop, NULL-terminated); 1 anything else (a hash, a path under
 * telnyx, which is assembled here, or deeper in the payload that finds its
 * member): the json-c path applies it. */
static int fast_privacy(const pb_privacy_t *pv, const pb_jmember_t *payload, const char **drop,
                        size_t dropsz)
{
        const char *const *segs;
        int nsegs, hash;
        size_t nd = 0;
        drop[0] = NULL;
        for (int i = 0; pb_privacy_path(pv, i, &segs, &nsegs, &hash); i++) {
                if (strcmp(segs[0], "telnyx") == 0)
                        return 1;
                if (strcmp(segs[0], "payload") != 0)
                        continue;
                if (nsegs == 1)
                        return 1; /* data always has a payload member */
                const char *v = payload ? payload->val : NULL;
                size_t vn = payload ? payload->val_len : 0;
                int k;
                for (k = 1; k < nsegs && v; k++) {
                        pb_jmember_t m[FAST_MAX_MEMBERS];
                        if (pb_jspan_kind(v, vn) != '{')
                                break;
                        int cnt = pb_jspan_members(v, vn, m, FAST_MAX_MEMBERS);
                        if (cnt < 0)
                                return 1; /* cannot tell: the json-c path can */
                        const pb_jmember_t *f = pb_jspan_find(m, cnt, segs[k]);
                        v = f ? f->val : NULL;
                        vn = f ? f->val_len : 0;
                }
                if (k < nsegs || !v)
                        continue; /* not in this event */
                if (hash || nsegs != 2 || nd + 1 >= dropsz)
                        return 1;
                drop[nd++] = segs[1];
                drop[nd] = NULL;
        }
        return 0;
}

/* Adds src's members (except skip) to t, as merge_members() does: a name
 * taken gets prefix until it is free, written into names. -1: leave it to
 * the json-c path. */
static int fast_merge(struct tmember *t, size_t *nt, const pb_jmember_t *src, int nsrc,
                      const char *const *skip, const char *prefix, char *names, size_t *used)
{
        size_t pl = strlen(prefix);
        for (int i = 0; i < nsrc; i++) {
                const pb_jmember_t *m = &src[i];
                size_t k = 0;
                while (
                    skip && skip[k] &&
                    !(strlen(skip[k]) == m->name_len && memcmp(skip[k], m->name, m->name_len) == 0))
                        k++;
                if (skip && skip[k])
                        continue;
                if (*nt >= FAST_MAX_TELNYX)
                        return -1;
                const char *name = m->name;
                size_t nl = m->name_len;
                for (size_t reps = 1;; reps++) {
                        size_t j = 0;
                        while (j < *nt &&
                               !(t[j].name_len == nl && memcmp(t[j].name, name, nl) == 0))
                                j++;
                        if (j == *nt)
                                break; /* free */
                        if (!pl || reps * pl + m->name_len >= 256 ||
                            *used + reps * pl + m->name_len > FAST_NAMES)
                                return -1;
                        char *o = names + *used;
                        for (size_t r = 0; r < reps; r++)
                                put_bytes(o + r * pl, prefix, pl);
                        memcpy(o + reps * pl, m->name, m->name_len);
                        name = o;
                        nl = reps * pl + m->name_len;
                        *used += nl;
                }
                int verbatim = 0;
                size_t clen = pb_jspan_canon_len(m->val, m->val_len, FAST_MAX_DEPTH, &verbatim);
                if (clen == (size_t)-1)
                        return -1;
                t[*nt].name = name;
                t[*nt].name_len = nl;
                t[*nt].val = m->val;
                t[*nt].val_len = m->val_len;
                t[*nt].clen = clen;
                t[*nt].verbatim = verbatim;
                (*nt)++;
        }
        return 0;
}

/* 1: the item holds its envelope; 0: not the common case (nothing added);
 * -1: out of memory. bare: buf is an event record as it is (a list's
 * element), whatever members it has. */
static int normalize_fast(const pb_norm_opts_t *opts, const char *buf, size_t len,
                          const pb_ingest_t *ingest, int bare, pb_batch_t *b, size_t *cap)
{
        pb_jmember_t root[FAST_MAX_MEMBERS], rec[FAST_MAX_MEMBERS], meta[FAST_MAX_MEMBERS];
        int nroot = pb_jspan_members(buf, len, root, FAST_MAX_MEMBERS), nrec, nmeta = 0;
        if (nroot < 0)
                return 0;
        const pb_jmember_t *data = bare ? NULL : pb_jspan_find(root, nroot, "data"), *mm = NULL;
        int webhook = 0;
        if (data) {
                if (pb_jspan_kind(data->val, data->val_len) != '{')
                        return 0; /* a list, or a refusal */
                nrec = pb_jspan_members(data->val, data->val_len, rec, FAST_MAX_MEMBERS);
                if (nrec < 0)
                        return 0;
                const pb_jmember_t *rt = pb_jspan_find(rec, nrec, "record_type");
                if (rt && pb_jspan_kind(rt->val, rt->val_len) == '"' &&
                    !pb_jspan_plain_str(rt->val, rt->val_len, &(size_t){0}))
                        return 0; /* compared only once decoded */
                mm = pb_jspan_find(root, nroot, "meta");
                /* json-c reads it even where it is not written: its depth
                 * counts */
                if (mm &&
                    pb_jspan_canon_len(mm->val, mm->val_len, FAST_MAX_DEPTH, NULL) == (size_t)-1)
                        return 0;
                if (mm && pb_jspan_kind(mm->val, mm->val_len) == '{') {
                        nmeta = pb_jspan_members(mm->val, mm->val_len, meta, FAST_MAX_MEMBERS);
                        if (nmeta < 0)
                                return 0;
                } else {
                        mm = NULL; /* null, or not an object: no delivery meta */
                }
                webhook = (rt && pb_jspan_str_is(rt->val, rt->val_len, "event")) ||
                          (!(rt && pb_jspan_str_is(rt->val, rt->val_len, "portout_event")) && mm &&
                           (pb_jspan_find(meta, nmeta, "attempt") ||
                            pb_jspan_find(meta, nmeta, "delivered_to")));
        } else {
                memcpy(rec, root, (size_t)nroot * sizeof(root[0]));
                nrec = nroot;
        }

        size_t idl = 0, etl = 0, pol = 0;
        const char *id = fast_ident(pb_jspan_find(rec, nrec, "id"), &idl);
        const char *et = fast_ident(pb_jspan_find(rec, nrec, "event_type"), &etl);
        if (!id || !et)
                return 0;
        char idb[PB_MAX_ID_LEN + 1], etb[PB_MAX_ID_LEN + 1], pob[PB_MAX_ID_LEN + 1];
        memcpy(idb, id, idl);
        idb[idl] = '\0';
        memcpy(etb, et, etl);
        etb[etl] = '\0';
        const pb_jmember_t *payload = pb_jspan_find(rec, nrec, "payload");
        char pk = payload ? pb_jspan_kind(payload->val, payload->val_len) : 'n';
        if (pk != '{' && pk != 'n')
                return 0;
        if (pk == 'n')
                payload = NULL; /* null: written as null */
        const pb_jmember_t *pom = pb_jspan_find(rec, nrec, "portout_id");
        const char *po = NULL;
        if (pom && pb_jspan_kind(pom->val, pom->val_len) != 'n') {
                po = fast_ident(pom, &pol);
        } else {
                pb_jmember_t pm[FAST_MAX_MEMBERS];
                int npm =
                    payload ? pb_jspan_members(payload->val, payload->val_len, pm, FAST_MAX_MEMBERS)
                            : -1;
                const pb_event_type_t *row = pb_event_type_find(etb);
                if (npm >= 0) {
                        const pb_jmember_t *f =
                            pb_jspan_find(pm, npm, row ? row->id_field : "portout_id");
                        if (f && pb_jspan_kind(f->val, f->val_len) != 'n')
                                po = fast_ident(f, &pol);
                }
        }
        if (!po)
                return 0;
        memcpy(pob, po, pol);
        pob[pol] = '\0';
        const char *drop[PB_PRIVACY_MAX_PATHS + 1] = {NULL};
        if (pb_privacy_active(opts->privacy) &&
            fast_privacy(opts->privacy, payload, drop, sizeof(drop) / sizeof(drop[0])))
                return 0;
        struct tmember pspan = {NULL, 0, NULL, 0, 0, 0};
        if (payload) {
                pspan.clen = pb_jspan_canon_len(payload->val, payload->val_len, FAST_MAX_DEPTH,
                                                &pspan.verbatim);
                if (pspan.clen == (size_t)-1)
                        return 0;
        }

        /* data.telnyx, as normalize_record() merges it; the payload's members
         * too when the policy drops some of them */
        struct tmember tm[FAST_MAX_TELNYX], ptm[FAST_MAX_TELNYX];
        char names[FAST_NAMES];
        size_t ntm = 0, used = 0, nptm = 0;
        if (drop[0]) {
                if (!payload) /* (a member dropped was found in it) */
                        return 0;
                pb_jmember_t pm[FAST_MAX_MEMBERS];
                int npm = pb_jspan_members(payload->val, payload->val_len, pm, FAST_MAX_MEMBERS);
                if (npm < 0 || fast_merge(ptm, &nptm, pm, npm, drop, "", names, &used))
                        return 0;
        }
        static const char *const skip_rec[] = {"id", "event_type", "portout_id", "payload", NULL};
        static const char *const skip_top[] = {"data", "meta", NULL};
        if (fast_merge(tm, &ntm, rec, nrec, skip_rec, "", names, &used) ||
            (webhook && mm && fast_merge(tm, &ntm, meta, nmeta, NULL, "meta_", names, &used)) ||
            (data && fast_merge(tm, &ntm, root, nroot, skip_top, "top_", names, &used)))
                return 0;

        int64_t us = 0, created_us = 0;
        char tbuf[40], rbuf[40], type[300];
        int ot = fast_time(pb_jspan_find(rec, nrec, "occurred_at"), &us);
        int ct = fast_time(pb_jspan_find(rec, nrec, "created_at"), &created_us);
        if (ot < 0 || ct < 0)
                return 0;
        if (ct <= 0)
                created_us = 0;
        if (!((ot > 0 && pb_time_format_us(us, tbuf, sizeof(tbuf)) == 0) ||
              (ct > 0 && pb_time_format_us(created_us, tbuf, sizeof(tbuf)) == 0)))
                pb_time_format_us(ingest->received_us, tbuf, sizeof(tbuf));
        pb_time_format_us(ingest->received_us, rbuf, sizeof(rbuf));
        snprintf(type, sizeof(type), PB_CE_TYPE_PREFIX "%s", etb);

        pb_norm_item_t *it = batch_add(b, cap);
        if (!it || set_raw(it, buf, len))
                return -1;
        struct member pm = {KEY("payload"), NULL, 0, MK_SPAN, NULL, &pspan, 1};
        if (drop[0]) { /* the members the policy leaves */
                pm.kind = MK_OBJ;
                pm.tm = ptm;
                pm.ntm = nptm;
        } else if (payload) {
                pm.val = payload->val;
                pm.len = payload->val_len;
        }
        const struct member telnyx = {KEY("telnyx"), NULL, 0, MK_OBJ, NULL, tm, ntm};
        const struct env_fields f = {idb, type, etb, pob, tbuf, rbuf};
        it->env = event_envelope(opts, ingest, &f, &pm, &telnyx, created_us);
        if (!it->env)
                return -1;
        return 1;
}

/* A document json-c parsed (root, borrowed) and its bytes: what json-c
 * parsed may still not be publishable as sent. 0, or -1 when out of memory. */
/* checked if it is a check of buf with the items, else *own made so (the
 * caller frees own when that is what it got). */
static const pb_jcheck_t *check_of(const pb_jcheck_t *checked, pb_jcheck_t *own, const char *buf,
                                   size_t len)
{
        if (checked && checked->want_items)
                return checked;
        memset(own, 0, sizeof(*own));
        own->want_items = 1;
        pb_json_check(buf, len, own);
        return own;
}

static int normalize_checked(const pb_norm_opts_t *opts, json_object *root, const char *buf,
                             size_t len, const pb_jcheck_t *checked, const pb_ingest_t *ingest,
                             pb_batch_t *b, size_t *cap)
{
        pb_jcheck_t own;
        const pb_jcheck_t *jc = check_of(checked, &own, buf, len);
        int chk = jc->result;
        int r = chk == 0 ? normalize_root(opts, root, buf, len, jc, ingest, b, cap)
                : chk > 0 && jc->items_ok
                    ? normalize_list_split(opts, root, buf, len, jc, ingest, b, cap)
                    : reject_doc(b, cap, buf, len, jc->why);
        if (jc == &own)
                pb_jcheck_free(&own);
        return r;
}

/* A list page every element of which takes the span path, read without a
 * tree (jc: its check, with the items): 1 (b filled), 0 if the page or an
 * element declines (b emptied: the caller reads the tree), -1 when out of
 * memory. */
static int page_by_spans(const pb_norm_opts_t *opts, const char *buf, const pb_jcheck_t *jc,
                         const pb_ingest_t *ingest, pb_batch_t *b, size_t *cap)
{
        if (opts->tree_only || jc->result != 0 || !jc->items_ok)
                return 0;
        for (size_t i = 0; i < jc->nitems; i++) {
                int fr = normalize_fast(opts, buf + jc->items[i].off, jc->items[i].len, ingest, 1,
                                        b, cap);
                if (fr < 0)
                        return -1;
                if (fr == 0) {
                        for (size_t k = 0; k < b->cnt; k++) {
                                envelope_free(b->items[k].env);
                                free(b->items[k].error);
                                free(b->items[k].raw);
                        }
                        if (b->cnt)
                                memset(b->items, 0, b->cnt * sizeof(*b->items));
                        b->cnt = 0;
                        return 0;
                }
        }
        return 1;
}

/* pb_normalize_parsed() of a page the client did not parse (root NULL):
 * its spans when they suffice, else json-c's tree of it, built here. */
static int normalize_unparsed(const pb_norm_opts_t *opts, const char *raw, size_t raw_len,
                              const pb_jcheck_t *checked, const pb_ingest_t *ingest, pb_batch_t *b,
                              size_t *cap)
{
        pb_jcheck_t own;
        const pb_jcheck_t *jc = check_of(checked, &own, raw, raw_len);
        int r = page_by_spans(opts, raw, jc, ingest, b, cap);
        if (r == 0) {
                char why[PB_ERRSZ];
                json_object *root = pb_json_parse(raw, raw_len, why, sizeof(why));
                r = root ? normalize_checked(opts, root, raw, raw_len, jc, ingest, b, cap)
                         : reject_doc(b, cap, raw, raw_len, why);
                json_object_put(root);
        } else {
                r = r < 0 ? -1 : 0;
        }
        if (jc == &own)
                pb_jcheck_free(&own);
        return r;
}

pb_batch_t *pb_normalize_parsed(const pb_norm_opts_t *opts, json_object *root, const char *raw,
                                size_t raw_len, const pb_jcheck_t *checked,
                                const pb_ingest_t *ingest)
{
        pb_batch_t *b = calloc(1, sizeof(*b));
        size_t cap = 0;
        if (!b)
                return NULL;
        int r = !root && raw ? normalize_unparsed(opts, raw, raw_len, checked, ingest, b, &cap)
                : raw        ? normalize_checked(opts, root, raw, raw_len, checked, ingest, b, &cap)
                             : normalize_root(opts, root, NULL, 0, NULL, ingest, b, &cap);
        if (r || finish_rejected(opts, b)) {
                pb_batch_free(b);
                return NULL;
        }
        return b;
}

pb_batch_t *pb_normalize(const pb_norm_opts_t *opts, const char *buf, size_t len,
                         const pb_ingest_t *ingest)
{
        pb_batch_t *b = calloc(1, sizeof(*b));
        size_t cap = 0;
        if (!b)
                return NULL;

        /* The text's check, kept for the json-c path when the span path
         * declines (a list, a refusal): the text is checked once. */
        pb_jcheck_t fjc;
        memset(&fjc, 0, sizeof(fjc));
        fjc.want_items = 1;
        int checked = !opts->tree_only && len;
        if (checked) {
                int fr = pb_json_check(buf, len, &fjc) == 0
                             ? normalize_fast(opts, buf, len, ingest, 0, b, &cap)
                             : 0;
                if (fr > 0) {
                        pb_jcheck_free(&fjc);
                        return b;
                }
                if (fr < 0)
                        goto oom;
        }
        json_tokener *tok = opts->tok ? opts->tok : json_tokener_new();
        if (!tok)
                goto oom;
        json_tokener_reset(tok);
        /* Strict JSON in valid UTF-8 (RFC 8259): what is published is
         * declared "application/cloudevents+json; charset=UTF-8". */
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        json_object *root = len ? json_tokener_parse_ex(tok, buf, (int)len) : NULL;
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t consumed = json_tokener_get_parse_end(tok);
        if (!opts->tok)
                json_tokener_free(tok);

        if (len == 0) /* like json-c waiting for more bytes: the document ended early */
                jerr = json_tokener_continue;
        size_t rest = consumed;
        while (rest < len && is_ws(buf[rest]))
                rest++;

        pb_norm_item_t *it;
        if (jerr != json_tokener_success || !root || rest != len) {
                it = batch_add(b, &cap);
                if (!it || set_raw(it, buf, len)) {
                        json_object_put(root); /* data after a document json-c read */
                        goto oom;
                }
                if (len == 0)
                        item_reject(it, "empty input: expected a JSON object");
                else if ((jerr == json_tokener_continue ||
                          (jerr == json_tokener_success && !root)) &&
                         json_whole_scalar(buf, len))
                        /* json-c waits for more of a bare number, or read null */
                        item_reject(it, "input is a JSON %s, expected an object",
                                    scalar_name(buf, len));
                else if (jerr == json_tokener_continue)
                        item_reject(it, "not valid JSON: document ends early (%zu bytes)", len);
                else if (jerr == json_tokener_error_depth) /* valid, but no Telnyx event is */
                        item_reject(it, "nested deeper than %d levels (at byte %zu): not read",
                                    JSON_TOKENER_DEFAULT_DEPTH, consumed);
                else if (jerr != json_tokener_success)
                        item_reject(it, "not valid JSON: %s at byte %zu",
                                    json_tokener_error_desc(jerr), consumed);
                else
                        item_reject(it,
                                    "not valid JSON: unexpected data after the document at "
                                    "byte %zu",
                                    rest);
                json_object_put(root);
                if (finish_rejected(opts, b))
                        goto oom;
                pb_jcheck_free(&fjc);
                return b;
        }

        int r = normalize_checked(opts, root, buf, len, checked ? &fjc : NULL, ingest, b, &cap);
        json_object_put(root);
        if (r || finish_rejected(opts, b))
                goto oom;
        pb_jcheck_free(&fjc);
        return b;

oom:
        pb_jcheck_free(&fjc);
        pb_batch_free(b);
        return NULL;
}

void pb_batch_free(pb_batch_t *b)
{
        if (!b)
                return;
        for (size_t i = 0; i < b->cnt; i++) {
                envelope_free(b->items[i].env);
                free(b->items[i].error);
                free(b->items[i].raw);
        }
        free(b->items);
        free(b);
}

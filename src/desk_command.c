#include "desk_command.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsoncheck.h"
#include "pb.h"
#include "timefmt.h"

#define TYPE_PREFIX "com.telnyx.portout."

int pb_command_id_valid(const char *id)
{
        size_t n = 0;
        for (; id && id[n]; n++) {
                char ch = id[n];
                if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == ':' ||
                      ch == '-') ||
                    n >= PB_COMMAND_ID_MAX)
                        return 0;
        }
        return n > 0;
}

/* A member that must be a string: NULL if absent or another type. */
static const char *str(json_object *o, const char *k)
{
        json_object *v;
        if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* Printable ASCII: what a type may be to be named in a result. */
static int printable(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
                        return 0;
        return 1;
}

int pb_command_parse(const char *value, size_t len, const char *key, size_t key_len,
                     pb_command_t *c, char *why, size_t whysz)
{
        memset(c, 0, sizeof(*c));
        char e[PB_ERRSZ];
        json_object *o = value ? pb_json_parse(value, len, e, sizeof(e)) : NULL;
        int rc = PB_ERR;
        if (!o || !json_object_is_type(o, json_type_object)) {
                pb_seterr(why, whysz, "not a CloudEvent: the value is not a JSON object");
                goto out;
        }
        const char *id = str(o, "id"), *spec = str(o, "specversion"), *type = str(o, "type"),
                   *subject = str(o, "subject"), *time = str(o, "time"), *source = str(o, "source");
        if (id && pb_command_id_valid(id))
                snprintf(c->id, sizeof(c->id), "%s", id);
        if (subject && pb_telnyx_id_valid(subject))
                snprintf(c->portout_id, sizeof(c->portout_id), "%s", subject);
        if (type && printable(type))
                snprintf(c->type_name, sizeof(c->type_name), "%s", type);
        if (!spec || strcmp(spec, "1.0") != 0 || !source || !*source || !id || !type) {
                pb_seterr(why, whysz,
                          "not a CloudEvent: specversion \"1.0\", id, source and type are "
                          "required strings");
                goto out;
        }
        if (!c->id[0]) {
                pb_seterr(why, whysz,
                          "the command id is not 1 to %d characters of A-Z a-z 0-9 . _ : -",
                          PB_COMMAND_ID_MAX);
                goto out;
        }
        /* Its text goes to Telnyx and into the result: strict JSON in UTF-8
         * (the ids above are ASCII by their grammar, so a refusal still
         * names them). */
        pb_jcheck_t jc;
        memset(&jc, 0, sizeof(jc));
        int strict = pb_json_check(value, len, &jc) == 0;
        pb_jcheck_free(&jc);
        if (!strict) {
                pb_seterr(why, whysz, "not a CloudEvent: the value is not strict JSON in UTF-8");
                goto out;
        }
        c->type = !strcmp(type, TYPE_PREFIX "authorize") ? PB_CMD_AUTHORIZE
                  : !strcmp(type, TYPE_PREFIX "reject")  ? PB_CMD_REJECT
                  : !strcmp(type, TYPE_PREFIX "comment") ? PB_CMD_COMMENT
                                                         : PB_CMD_UNKNOWN;
        if (c->type == PB_CMD_UNKNOWN) {
                pb_seterr(why, whysz,
                          "unknown command type (com.telnyx.portout.authorize, .reject or "
                          ".comment)");
                goto out;
        }
        if (!c->portout_id[0]) {
                pb_seterr(why, whysz, "subject is not a port-out id");
                goto out;
        }
        if (!key || key_len != strlen(c->portout_id) || memcmp(key, c->portout_id, key_len) != 0) {
                pb_seterr(why, whysz,
                          "the record's key is not its subject (a port-out's commands share "
                          "its partition, and its order)");
                goto out;
        }
        if (!time || pb_time_parse_rfc3339(time, &c->time_us) != 0) {
                pb_seterr(why, whysz, "time is not an RFC 3339 date-time");
                goto out;
        }
        json_object *data = NULL;
        json_object_object_get_ex(o, "data", &data);
        const char *reason = str(data, "reason"), *body = str(data, "body");
        if (reason && strlen(reason) > PB_COMMAND_REASON_MAX) {
                pb_seterr(why, whysz, "data.reason is longer than %d bytes", PB_COMMAND_REASON_MAX);
                goto out;
        }
        if (body && strlen(body) > PB_COMMAND_BODY_MAX) {
                pb_seterr(why, whysz, "data.body is longer than %d bytes", PB_COMMAND_BODY_MAX);
                goto out;
        }
        snprintf(c->reason, sizeof(c->reason), "%s", reason ? reason : "");
        snprintf(c->body, sizeof(c->body), "%s", body ? body : "");
        if (c->type == PB_CMD_REJECT && !c->reason[0]) {
                pb_seterr(why, whysz, "a reject needs data.reason");
                goto out;
        }
        if (c->type == PB_CMD_COMMENT && !c->body[0]) {
                pb_seterr(why, whysz, "a comment needs data.body");
                goto out;
        }
        rc = 0;
out:
        json_object_put(o);
        return rc;
}

int pb_command_allowed(const pb_command_t *c, const char *status, int64_t now_us, int64_t max_age_s,
                       char *why, size_t whysz)
{
        int64_t age_s = (now_us - c->time_us) / 1000000;
        if (age_s > max_age_s)
                return pb_seterr(why, whysz,
                                 "the command is %lld s old (desk.max_command_age_s = %lld)",
                                 (long long)age_s, (long long)max_age_s);
        if (c->type != PB_CMD_COMMENT && strcmp(status, "pending") != 0)
                return pb_seterr(why, whysz, "the port-out is %.30s: only a pending one can be %s",
                                 status, c->type == PB_CMD_AUTHORIZE ? "authorized" : "rejected");
        return 0;
}

int pb_command_request(const pb_command_t *c, const char **method, const char **suffix, char *body,
                       size_t bodysz)
{
        const char *member = c->type == PB_CMD_COMMENT ? "body" : "reason";
        const char *text = c->type == PB_CMD_COMMENT ? c->body : c->reason;
        *method = c->type == PB_CMD_COMMENT ? "POST" : "PATCH";
        *suffix = c->type == PB_CMD_AUTHORIZE ? "/authorized"
                  : c->type == PB_CMD_REJECT  ? "/rejected-pending"
                                              : "/comments";
        /* the member is required by the SDK for a status, even if empty */
        json_object *o = json_object_new_object();
        if (!o || json_object_object_add(o, member, json_object_new_string(text))) {
                json_object_put(o);
                return PB_ERR;
        }
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        int rc = s && strlen(s) < bodysz ? 0 : PB_ERR;
        if (!rc)
                memcpy(body, s, strlen(s) + 1);
        json_object_put(o);
        return rc;
}

int pb_command_settled_done(const pb_command_t *c, const char *status, int has_comment)
{
        switch (c->type) {
        case PB_CMD_AUTHORIZE: return !strcmp(status, "authorized") || !strcmp(status, "ported");
        case PB_CMD_REJECT:
                return !strcmp(status, "rejected-pending") || !strcmp(status, "rejected");
        case PB_CMD_COMMENT: return has_comment;
        default: return 0;
        }
}

static json_object *str_or_null(const char *s)
{
        return s && *s ? json_object_new_string(s) : NULL;
}

char *pb_command_result_data(const pb_command_t *c, const pb_command_result_t *r, size_t *len)
{
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "command_id", str_or_null(c->id));
        json_object_object_add(o, "type", str_or_null(c->type_name));
        json_object_object_add(o, "portout_id", str_or_null(c->portout_id));
        json_object_object_add(o, "outcome", json_object_new_string(r->outcome));
        json_object_object_add(o, "http_status",
                               r->http_status ? json_object_new_int64(r->http_status) : NULL);
        json_object_object_add(o, "error_code", str_or_null(r->error_code));
        json_object_object_add(o, "error_detail", str_or_null(r->error_detail));
        json_object_object_add(o, "status_after", str_or_null(r->status_after));
        json_object_object_add(o, "reason", str_or_null(r->reason));
        json_object_object_add(o, "settled_by", str_or_null(r->settled_by));
        size_t n;
        const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
        char *out = s ? malloc(n + 1) : NULL;
        if (out) {
                memcpy(out, s, n + 1);
                *len = n;
        }
        json_object_put(o);
        return out;
}

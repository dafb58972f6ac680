/* Fuzz target: desk_command.c, what a record of topics.commands is read as
 * (anyone with Write on that topic reaches it). Input: "key\nvalue".
 * Invariants: a command taken has a valid command id and port-out id, a
 * known type, its key equal to its subject, a time, a reject's reason and a
 * comment's body, each within its bound; the call's body it builds is
 * strict JSON with exactly the one member the SDKs send, whose value is the
 * command's text; a refusal has a reason, printable; a result's data, taken
 * or refused, is strict JSON naming the command id it read, or null. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "desk_command.h"
#include "jsoncheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void strict(const char *s, size_t n)
{
        pb_jcheck_t jc;
        memset(&jc, 0, sizeof(jc));
        if (pb_json_check(s, n, &jc) != 0)
                abort();
        pb_jcheck_free(&jc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *nl = memchr(data, '\n', size);
        size_t klen = nl ? (size_t)(nl - (const char *)data) : 0;
        const char *value = nl ? nl + 1 : (const char *)data;
        size_t vlen = size - (nl ? klen + 1 : 0);
        pb_command_t c;
        char why[256];
        why[0] = '\0';
        int rc = pb_command_parse(value, vlen, nl ? (const char *)data : NULL, klen, &c, why,
                                  sizeof(why));
        if (c.id[0] && !pb_command_id_valid(c.id))
                abort();
        if (c.portout_id[0] && !pb_telnyx_id_valid(c.portout_id))
                abort();
        if (rc == 0) {
                if (c.type == PB_CMD_UNKNOWN || !c.id[0] || !c.portout_id[0] ||
                    klen != strlen(c.portout_id) || memcmp(data, c.portout_id, klen) != 0)
                        abort();
                if ((c.type == PB_CMD_REJECT && !c.reason[0]) ||
                    (c.type == PB_CMD_COMMENT && !c.body[0]))
                        abort();
                const char *method, *suffix;
                char body[PB_COMMAND_BODY_MAX * 6 + 64];
                if (pb_command_request(&c, &method, &suffix, body, sizeof(body)) != 0)
                        abort();
                strict(body, strlen(body));
                json_object *o = json_tokener_parse(body), *v = NULL;
                const char *member = c.type == PB_CMD_COMMENT ? "body" : "reason";
                if (!o || json_object_object_length(o) != 1 ||
                    !json_object_object_get_ex(o, member, &v) ||
                    strcmp(json_object_get_string(v),
                           c.type == PB_CMD_COMMENT ? c.body : c.reason) != 0)
                        abort();
                json_object_put(o);
        } else {
                if (!why[0])
                        abort();
                for (const char *p = why; *p; p++)
                        if ((unsigned char)*p < 0x20)
                                abort();
        }
        pb_command_result_t r = {.outcome = rc ? "refused" : "done", .reason = rc ? why : NULL};
        size_t len;
        char *res = pb_command_result_data(&c, &r, &len);
        if (!res)
                return 0;
        strict(res, len);
        json_object *o = json_tokener_parse(res), *id = NULL;
        if (!o || !json_object_object_get_ex(o, "command_id", &id) ||
            (c.id[0] ? !id || strcmp(json_object_get_string(id), c.id) : id != NULL))
                abort();
        json_object_put(o);
        free(res);
        return 0;
}

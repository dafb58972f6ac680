/* libFuzzer target, differential: the project's JSON checker (jsoncheck)
 * against json-c, the parser that builds what the bridge publishes. For
 * every text the checker passes as publishable, json-c must read it whole
 * and hold exactly the objects, members and elements the checker counted:
 * a name the two read differently ("id" and "id\u0000", an escape decoded
 * one way here and another there) shows as a member json-c merged or a
 * duplicate the checker missed. Built by scripts/fuzz.sh with clang. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsoncheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct count {
        size_t containers, members, elements;
};

static void walk(json_object *o, struct count *c)
{
        if (json_object_is_type(o, json_type_object)) {
                c->containers++;
                json_object_object_foreach(o, k, v)
                {
                        (void)k;
                        c->members++;
                        walk(v, c);
                }
        } else if (json_object_is_type(o, json_type_array)) {
                c->containers++;
                size_t n = json_object_array_length(o);
                c->elements += n;
                for (size_t i = 0; i < n; i++)
                        walk(json_object_array_get_idx(o, i), c);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size > INT32_MAX)
                return 0;
        pb_jcheck_t jc;
        memset(&jc, 0, sizeof(jc));
        int rc = pb_json_check((const char *)data, size, &jc);
        pb_jcheck_free(&jc);
        if (rc < 0)
                return 0; /* not JSON, or deeper than we read: nothing to compare */
        /* With its NUL: json-c then finishes a number at the very end. */
        char *text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        json_tokener *tok = json_tokener_new_ex(PB_JSON_MAX_DEPTH + 2);
        json_object *o = json_tokener_parse_ex(tok, text, (int)size + 1);
        enum json_tokener_error e = json_tokener_get_error(tok);
        size_t end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        /* json-c stops at a NUL byte and leaves trailing whitespace unread. */
        while (end < size && strchr(" \t\r\n", data[end]) && data[end])
                end++;
        if (rc == 0) {
                /* Publishable: json-c reads all of it, as the same tree. */
                if (e != json_tokener_success || end != size)
                        abort();
                struct count c = {0, 0, 0};
                walk(o, &c);
                if (c.containers != jc.containers || c.members != jc.members ||
                    c.elements != jc.elements)
                        abort();
        }
        json_object_put(o);
        free(text);
        return 0;
}

/* libFuzzer target: the path of a webhook request body to an envelope.
 * The input is "<telnyx-timestamp>\n<telnyx-signature-ed25519>\n<body>":
 * the headers exercise the verifier's parsing (a random signature never
 * matches), then the body goes through the normalizer as it would with
 * signatures off, and every envelope produced must be valid JSON with its
 * required members, in exactly the bytes json-c writes for it (the
 * envelope and its payload are written without json-c). Built by
 * scripts/fuzz.sh with clang. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_verify.h"
#include "normalize.h"

static pb_verifier_t *verifier;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!verifier)
                verifier =
                    pb_verifier_new("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", 300, NULL, 0);
        const char *p = (const char *)data, *end = p + size;
        const char *nl1 = memchr(p, '\n', size);
        const char *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1)) : NULL;
        const char *body = p;
        size_t blen = size;
        if (nl1 && nl2) {
                char ts[64] = "", sig[256] = "";
                size_t tl = (size_t)(nl1 - p), sl = (size_t)(nl2 - nl1 - 1);
                if (tl < sizeof(ts) && sl < sizeof(sig)) {
                        memcpy(ts, p, tl);
                        memcpy(sig, nl1 + 1, sl);
                        body = nl2 + 1;
                        blen = (size_t)(end - body);
                        pb_verify(verifier, ts, sig, body, blen, 1772713845);
                }
        }
        pb_norm_opts_t opts = {"https://api.telnyx.com/v2/portouts", NULL, NULL};
        pb_ingest_t ing = {PB_INGEST_WEBHOOK, 1772713845000000};
        pb_batch_t *b = pb_normalize(&opts, body, blen, &ing);
        if (!b)
                return 0;
        for (size_t i = 0; i < b->cnt; i++) {
                const pb_norm_item_t *it = &b->items[i];
                if ((it->env == NULL) == (it->error == NULL))
                        abort(); /* exactly one of envelope or reason */
                if (!it->env)
                        continue;
                json_object *o = json_tokener_parse(it->env->json);
                json_object *v;
                if (!o || !json_object_object_get_ex(o, "id", &v) ||
                    !json_object_object_get_ex(o, "subject", &v) ||
                    !json_object_object_get_ex(o, "time", &v) || strlen(it->env->portout_id) == 0 ||
                    strlen(it->env->id) > PB_MAX_ID_LEN)
                        abort();
                size_t n = 0;
                const char *again = json_object_to_json_string_length(
                    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
                if (n != it->env->json_len || memcmp(again, it->env->json, n) != 0)
                        abort();
                json_object_put(o);
        }
        pb_batch_free(b);
        return 0;
}

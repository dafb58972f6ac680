/* libFuzzer target: the path of a webhook request body to an envelope.
 * The input is "<telnyx-timestamp>\n<telnyx-signature-ed25519>\n<body>".
 * The verifier accepts exactly what was signed: the fuzzer's own headers
 * never verify (an OK would be a forgery: it aborts), the split check (the
 * headers, then the message) gives the same verdict as the whole, and the
 * body signed with a key of the verifier's does verify, and no longer once
 * one byte of it changes. Then the body goes through the normalizer as it
 * would with signatures off, and every envelope produced must be valid
 * JSON with its required members, in exactly the bytes json-c writes for
 * it (the envelope and its payload are written without json-c). Built by
 * scripts/fuzz.sh with clang. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http_verify.h"
#include "normalize.h"

#define NOW 1772713845

static pb_verifier_t *verifier;
static unsigned char sk[crypto_sign_SECRETKEYBYTES];

/* The verdict of the whole check and of its two halves, which must agree. */
static pb_verify_rc_t verify_both(const char *ts, const char *sig, const char *body, size_t blen)
{
        pb_verify_rc_t whole = pb_verify(verifier, ts, sig, body, blen, NOW);
        unsigned char raw[64];
        char prefix[PB_VERIFY_PREFIX_MAX];
        size_t plen = 0;
        pb_verify_rc_t split = pb_verify_headers(verifier, ts, sig, NOW, raw, prefix, &plen);
        if (split == PB_VERIFY_OK) {
                unsigned char *msg = malloc(plen + blen + 1);
                memcpy(msg, prefix, plen);
                if (blen)
                        memcpy(msg + plen, body, blen);
                split = pb_verify_message(verifier, raw, msg, plen + blen);
                free(msg);
        }
        if (whole != split)
                abort();
        return whole;
}

/* Signs "<ts>|<body>" with the verifier's second key: padded base64. */
static void sign(const char *ts, const char *body, size_t blen, char *out, size_t outsz)
{
        size_t tl = strlen(ts);
        unsigned char *msg = malloc(tl + 1 + blen + 1), sig[crypto_sign_BYTES];
        memcpy(msg, ts, tl);
        msg[tl] = '|';
        if (blen)
                memcpy(msg + tl + 1, body, blen);
        crypto_sign_detached(sig, NULL, msg, tl + 1 + blen, sk);
        free(msg);
        sodium_bin2base64(out, outsz, sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!verifier) {
                unsigned char seed[crypto_sign_SEEDBYTES] = {7}, pk[crypto_sign_PUBLICKEYBYTES];
                char keys[256], pk64[64];
                if (sodium_init() < 0)
                        abort();
                crypto_sign_seed_keypair(pk, sk, seed);
                sodium_bin2base64(pk64, sizeof(pk64), pk, sizeof(pk),
                                  sodium_base64_VARIANT_ORIGINAL);
                snprintf(keys, sizeof(keys), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=,%s",
                         pk64);
                verifier = pb_verifier_new(keys, 300, NULL, 0);
                if (!verifier)
                        abort();
        }
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
                        if (verify_both(ts, sig, body, blen) == PB_VERIFY_OK)
                                abort(); /* the fuzzer's own signature verified: a forgery */
                }
        }
        /* What a key of ours signed verifies; one byte changed, it does not. */
        char good[128];
        sign("1772713845", body, blen, good, sizeof(good));
        if (verify_both("1772713845", good, body, blen) != PB_VERIFY_OK)
                abort();
        if (blen) {
                char *bent = malloc(blen);
                memcpy(bent, body, blen);
                bent[blen / 2] ^= 0x01;
                if (verify_both("1772713845", good, bent, blen) != PB_VERIFY_SIGNATURE_MISMATCH)
                        abort();
                free(bent);
        }
        pb_norm_opts_t opts = {"https://api.telnyx.com/v2/portouts", NULL, NULL, 0};
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

#include "http_verify.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"

struct pb_verifier {
        unsigned char keys[PB_VERIFY_MAX_KEYS][crypto_sign_PUBLICKEYBYTES];
        int nkeys;
        int64_t tolerance_s;
};

static const char *const rc_names[PB_VERIFY__COUNT] = {
    "ok",
    "missing_timestamp",
    "missing_signature",
    "bad_timestamp",
    "timestamp_too_old",
    "timestamp_in_future",
    "bad_signature_encoding",
    "signature_mismatch",
    "repeated_header",
};

static const char *const rc_texts[PB_VERIFY__COUNT] = {
    "signature valid",
    "the telnyx-timestamp header is missing",
    "the telnyx-signature-ed25519 header is missing",
    "telnyx-timestamp is not a Unix time in seconds",
    "telnyx-timestamp is older than the replay window",
    "telnyx-timestamp is ahead of the clock by more than the replay window",
    "telnyx-signature-ed25519 is not base64 of a 64-byte Ed25519 signature",
    "the Ed25519 signature does not match the body and timestamp",
    "telnyx-timestamp or telnyx-signature-ed25519 was sent more than once",
};

const char *pb_verify_rc_name(pb_verify_rc_t rc)
{
        return rc < PB_VERIFY__COUNT ? rc_names[rc] : "unknown";
}

const char *pb_verify_rc_text(pb_verify_rc_t rc)
{
        return rc < PB_VERIFY__COUNT ? rc_texts[rc] : "unknown";
}

/* Decodes standard base64, padded (as Telnyx and its SDKs send) or not. */
static int b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outmax,
                      size_t *outlen)
{
        if (sodium_base642bin(out, outmax, in, inlen, NULL, outlen, NULL,
                              sodium_base64_VARIANT_ORIGINAL) == 0)
                return 0;
        return sodium_base642bin(out, outmax, in, inlen, NULL, outlen, NULL,
                                 sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

pb_verifier_t *pb_verifier_new(const char *keys_b64, int64_t tolerance_s, char *errstr,
                               size_t errsz)
{
        if (sodium_init() < 0) {
                pb_seterr(errstr, errsz, "libsodium failed to initialize");
                return NULL;
        }
        pb_verifier_t *v = calloc(1, sizeof(*v));
        if (!v) {
                pb_seterr(errstr, errsz, "out of memory");
                return NULL;
        }
        v->tolerance_s = tolerance_s;
        const char *p = keys_b64 ? keys_b64 : "";
        while (*p) {
                size_t skip = strspn(p, ", \t\r\n");
                p += skip;
                size_t n = strcspn(p, ", \t\r\n");
                if (n == 0)
                        break;
                if (v->nkeys == PB_VERIFY_MAX_KEYS) {
                        pb_seterr(errstr, errsz, "more than %d public keys", PB_VERIFY_MAX_KEYS);
                        goto fail;
                }
                unsigned char buf[64];
                size_t len = 0;
                if (b64_decode(p, n, buf, sizeof(buf), &len) || len != crypto_sign_PUBLICKEYBYTES) {
                        pb_seterr(errstr, errsz,
                                  "public key %d is not base64 of a raw 32-byte Ed25519 key "
                                  "(decoded %zu bytes)",
                                  v->nkeys + 1, len);
                        goto fail;
                }
                memcpy(v->keys[v->nkeys++], buf, crypto_sign_PUBLICKEYBYTES);
                p += n;
        }
        if (v->nkeys == 0) {
                pb_seterr(errstr, errsz, "no public key given");
                goto fail;
        }
        return v;
fail:
        free(v);
        return NULL;
}

void pb_verifier_free(pb_verifier_t *v)
{
        free(v);
}

int pb_verifier_key_count(const pb_verifier_t *v)
{
        return v->nkeys;
}

/* A header value's length without the whitespace after it. */
static size_t trimmed_len(const char *s)
{
        size_t n = strlen(s);
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                n--;
        return n;
}

pb_verify_rc_t pb_verify_headers(const pb_verifier_t *v, const char *timestamp,
                                 const char *signature, int64_t now_s, unsigned char sig[64],
                                 char prefix[PB_VERIFY_PREFIX_MAX], size_t *prefix_len)
{
        size_t tlen = timestamp ? trimmed_len(timestamp) : 0;
        size_t slen = signature ? trimmed_len(signature) : 0;
        if (!tlen)
                return PB_VERIFY_MISSING_TIMESTAMP;
        if (!slen)
                return PB_VERIFY_MISSING_SIGNATURE;

        /* All digits, like the Node SDK: no sign, no spaces, no fraction. */
        if (tlen > PB_VERIFY_PREFIX_MAX - 1 || strspn(timestamp, "0123456789") != tlen)
                return PB_VERIFY_BAD_TIMESTAMP;
        int64_t ts = strtoll(timestamp, NULL, 10);
        if (now_s - ts > v->tolerance_s)
                return PB_VERIFY_TIMESTAMP_TOO_OLD;
        if (ts - now_s > v->tolerance_s)
                return PB_VERIFY_TIMESTAMP_IN_FUTURE;

        unsigned char buf[crypto_sign_BYTES + 8];
        size_t siglen = 0;
        /* Padded standard base64 only, as Telnyx sends it and as every
         * official SDK's verifier requires: an unpadded signature is refused
         * (keys, which operators paste, may come either way). */
        if (sodium_base642bin(buf, sizeof(buf), signature, slen, NULL, &siglen, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            siglen != crypto_sign_BYTES)
                return PB_VERIFY_BAD_SIGNATURE_ENCODING;
        memcpy(sig, buf, crypto_sign_BYTES);
        /* The signed message starts with the timestamp as sent, then "|". */
        memcpy(prefix, timestamp, tlen);
        prefix[tlen] = '|';
        *prefix_len = tlen + 1;
        return PB_VERIFY_OK;
}

pb_verify_rc_t pb_verify_message(const pb_verifier_t *v, const unsigned char sig[64],
                                 const void *msg, size_t mlen)
{
        for (int i = 0; i < v->nkeys; i++)
                if (crypto_sign_verify_detached(sig, msg, mlen, v->keys[i]) == 0)
                        return PB_VERIFY_OK;
        return PB_VERIFY_SIGNATURE_MISMATCH;
}

pb_verify_rc_t pb_verify(const pb_verifier_t *v, const char *timestamp, const char *signature,
                         const char *body, size_t body_len, int64_t now_s)
{
        unsigned char sig[crypto_sign_BYTES];
        char prefix[PB_VERIFY_PREFIX_MAX];
        size_t plen = 0;
        pb_verify_rc_t rc = pb_verify_headers(v, timestamp, signature, now_s, sig, prefix, &plen);
        if (rc != PB_VERIFY_OK)
                return rc;
        size_t mlen = plen + body_len;
        unsigned char *msg = malloc(mlen);
        if (!msg)
                return PB_VERIFY_SIGNATURE_MISMATCH;
        memcpy(msg, prefix, plen);
        if (body_len)
                memcpy(msg + plen, body, body_len);
        rc = pb_verify_message(v, sig, msg, mlen);
        free(msg);
        return rc;
}

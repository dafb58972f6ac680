#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_verify.h"

#define NOW 1772713845 /* 2026-03-05T12:30:45Z */

static void hex2bin(const char *hex, unsigned char *out, size_t n)
{
        size_t len = 0;
        assert_int_equal(sodium_hex2bin(out, n, hex, strlen(hex), NULL, &len, NULL), 0);
        assert_int_equal(len, n);
}

static void b64(const unsigned char *in, size_t n, char *out, size_t outsz)
{
        sodium_bin2base64(out, outsz, in, n, sodium_base64_VARIANT_ORIGINAL);
}

/* A key pair made here with libsodium, and a request signed with it. */
struct signer {
        unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
        char pk64[64];
};

static void signer_init(struct signer *s)
{
        crypto_sign_keypair(s->pk, s->sk);
        b64(s->pk, sizeof(s->pk), s->pk64, sizeof(s->pk64));
}

static void sign_req(const struct signer *s, const char *ts, const char *body, char *sig64,
                     size_t sz)
{
        size_t tl = strlen(ts), bl = strlen(body);
        unsigned char *msg = malloc(tl + 1 + bl), sig[crypto_sign_BYTES];
        memcpy(msg, ts, tl);
        msg[tl] = '|';
        memcpy(msg + tl + 1, body, bl);
        crypto_sign_detached(sig, NULL, msg, tl + 1 + bl, s->sk);
        free(msg);
        b64(sig, sizeof(sig), sig64, sz);
}

/* RFC 8032 §7.1 test vectors 1-3 (the raw message, no Telnyx framing),
 * through the bridge's own check: a verifier built from the key in base64,
 * as the configuration gives it, and pb_verify_message(), the call the
 * listener makes; each also refused with one bit of the signature, the
 * message or the key changed. */
static void test_rfc8032_vectors(void **state)
{
        (void)state;
        static const char *const v[][3] = {
            {"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
             "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3"
             "9"
             "701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
            {"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
             "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3"
             "6"
             "13d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
            {"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
             "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f"
             "7"
             "60984dc6594a7c15e9716ed28dc027beceea1ec40a"},
        };
        for (size_t i = 0; i < 3; i++) {
                unsigned char pk[32], sig[64], msg[8] = {0};
                size_t mlen = strlen(v[i][1]) / 2;
                char pk64[64], other64[64], err[256];
                hex2bin(v[i][0], pk, 32);
                hex2bin(v[i][2], sig, 64);
                if (mlen)
                        hex2bin(v[i][1], msg, mlen);
                b64(pk, 32, pk64, sizeof(pk64));
                pk[31] ^= 1;
                b64(pk, 32, other64, sizeof(other64));
                pb_verifier_t *ver = pb_verifier_new(pk64, 300, err, sizeof(err));
                pb_verifier_t *other = pb_verifier_new(other64, 300, err, sizeof(err));
                assert_non_null(ver);
                assert_non_null(other);
                assert_int_equal(pb_verify_message(ver, sig, msg, mlen), PB_VERIFY_OK);
                assert_int_equal(pb_verify_message(other, sig, msg, mlen),
                                 PB_VERIFY_SIGNATURE_MISMATCH);
                unsigned char longer[9];
                memcpy(longer, msg, mlen);
                longer[mlen] = 0;
                assert_int_equal(pb_verify_message(ver, sig, longer, mlen + 1),
                                 PB_VERIFY_SIGNATURE_MISMATCH);
                if (mlen) {
                        msg[0] ^= 1;
                        assert_int_equal(pb_verify_message(ver, sig, msg, mlen),
                                         PB_VERIFY_SIGNATURE_MISMATCH);
                        msg[0] ^= 1;
                }
                sig[0] ^= 1;
                assert_int_equal(pb_verify_message(ver, sig, msg, mlen),
                                 PB_VERIFY_SIGNATURE_MISMATCH);
                pb_verifier_free(ver);
                pb_verifier_free(other);
        }
}

static void test_accepts_and_rejects(void **state)
{
        (void)state;
        struct signer s;
        signer_init(&s);
        char err[256], sig[128];
        pb_verifier_t *v = pb_verifier_new(s.pk64, 300, err, sizeof(err));
        assert_non_null(v);
        const char *body = "{\"data\":{\"id\":\"e\"}}";
        sign_req(&s, "1772713845", body, sig, sizeof(sig));

        assert_int_equal(pb_verify(v, "1772713845", sig, body, strlen(body), NOW), PB_VERIFY_OK);
        /* the window is symmetric and inclusive of 300 s */
        assert_int_equal(pb_verify(v, "1772713845", sig, body, strlen(body), NOW + 300),
                         PB_VERIFY_OK);
        assert_int_equal(pb_verify(v, "1772713845", sig, body, strlen(body), NOW - 300),
                         PB_VERIFY_OK);
        assert_int_equal(pb_verify(v, "1772713845", sig, body, strlen(body), NOW + 301),
                         PB_VERIFY_TIMESTAMP_TOO_OLD);
        assert_int_equal(pb_verify(v, "1772713845", sig, body, strlen(body), NOW - 301),
                         PB_VERIFY_TIMESTAMP_IN_FUTURE);
        assert_int_equal(pb_verify(v, NULL, sig, body, strlen(body), NOW),
                         PB_VERIFY_MISSING_TIMESTAMP);
        assert_int_equal(pb_verify(v, "", sig, body, strlen(body), NOW),
                         PB_VERIFY_MISSING_TIMESTAMP);
        assert_int_equal(pb_verify(v, "1772713845", NULL, body, strlen(body), NOW),
                         PB_VERIFY_MISSING_SIGNATURE);
        assert_int_equal(pb_verify(v, "17727138x5", sig, body, strlen(body), NOW),
                         PB_VERIFY_BAD_TIMESTAMP);
        assert_int_equal(pb_verify(v, "-1772713845", sig, body, strlen(body), NOW),
                         PB_VERIFY_BAD_TIMESTAMP);
        assert_int_equal(pb_verify(v, "1772713845.5", sig, body, strlen(body), NOW),
                         PB_VERIFY_BAD_TIMESTAMP);
        assert_int_equal(pb_verify(v, "1772713845", "not base64!", body, strlen(body), NOW),
                         PB_VERIFY_BAD_SIGNATURE_ENCODING);
        assert_int_equal(pb_verify(v, "1772713845", "c2hvcnQ=", body, strlen(body), NOW),
                         PB_VERIFY_BAD_SIGNATURE_ENCODING); /* 5 bytes */
        /* The same signature without its "==" padding: the SDKs refuse it. */
        char unpadded[128];
        snprintf(unpadded, sizeof(unpadded), "%s", sig);
        assert_int_equal(unpadded[strlen(unpadded) - 1], '=');
        unpadded[strcspn(unpadded, "=")] = '\0';
        assert_int_equal(pb_verify(v, "1772713845", unpadded, body, strlen(body), NOW),
                         PB_VERIFY_BAD_SIGNATURE_ENCODING);
        /* Whitespace after a header's value is not part of it (RFC 9110
         * §5.5; the SDKs get values trimmed from their web framework): the
         * message signed is "1772713845|body" all the same. Before, both
         * were refused (bad_timestamp, bad_signature_encoding). */
        char spaced[160];
        snprintf(spaced, sizeof(spaced), "%s \t ", sig);
        assert_int_equal(pb_verify(v, "1772713845\t", spaced, body, strlen(body), NOW),
                         PB_VERIFY_OK);
        assert_int_equal(pb_verify(v, "1772713845 ", sig, body, strlen(body), NOW), PB_VERIFY_OK);
        assert_int_equal(pb_verify(v, "  ", sig, body, strlen(body), NOW),
                         PB_VERIFY_MISSING_TIMESTAMP);
        assert_int_equal(pb_verify(v, "17727 13845", sig, body, strlen(body), NOW),
                         PB_VERIFY_BAD_TIMESTAMP); /* inside a value, a space stays wrong */
        /* The check split in two, as the listener uses it: the headers,
         * then the message with the prefix they gave. */
        unsigned char raw[64];
        char prefix[PB_VERIFY_PREFIX_MAX];
        size_t plen = 0;
        assert_int_equal(pb_verify_headers(v, "1772713845 ", sig, NOW, raw, prefix, &plen),
                         PB_VERIFY_OK);
        assert_int_equal(plen, 11);
        assert_memory_equal(prefix, "1772713845|", 11);
        char msg[256];
        memcpy(msg, prefix, plen);
        memcpy(msg + plen, body, strlen(body));
        assert_int_equal(pb_verify_message(v, raw, msg, plen + strlen(body)), PB_VERIFY_OK);
        msg[plen] ^= 1;
        assert_int_equal(pb_verify_message(v, raw, msg, plen + strlen(body)),
                         PB_VERIFY_SIGNATURE_MISMATCH);

        /* Every single-byte change of the body is caught. */
        char *copy = strdup(body);
        for (size_t i = 0; i < strlen(body); i++) {
                copy[i] ^= 0x20;
                assert_int_equal(pb_verify(v, "1772713845", sig, copy, strlen(copy), NOW),
                                 PB_VERIFY_SIGNATURE_MISMATCH);
                copy[i] ^= 0x20;
        }
        free(copy);
        /* One byte more, one byte less. */
        assert_int_equal(pb_verify(v, "1772713845", sig, body, strlen(body) - 1, NOW),
                         PB_VERIFY_SIGNATURE_MISMATCH);
        /* The timestamp is part of what is signed. */
        assert_int_equal(pb_verify(v, "1772713846", sig, body, strlen(body), NOW),
                         PB_VERIFY_SIGNATURE_MISMATCH);
        /* The same signature replayed after the window. */
        assert_int_equal(pb_verify(v, "1772713845", sig, body, strlen(body), NOW + 3600),
                         PB_VERIFY_TIMESTAMP_TOO_OLD);
        pb_verifier_free(v);
}

static void test_key_rotation(void **state)
{
        (void)state;
        struct signer old, cur, other;
        signer_init(&old);
        signer_init(&cur);
        signer_init(&other);
        char keys[200], err[256], sig[128];
        snprintf(keys, sizeof(keys), "%s,\n %s\n", old.pk64, cur.pk64);
        pb_verifier_t *v = pb_verifier_new(keys, 300, err, sizeof(err));
        assert_non_null(v);
        assert_int_equal(pb_verifier_key_count(v), 2);
        sign_req(&old, "1772713845", "{}", sig, sizeof(sig));
        assert_int_equal(pb_verify(v, "1772713845", sig, "{}", 2, NOW), PB_VERIFY_OK);
        sign_req(&cur, "1772713845", "{}", sig, sizeof(sig));
        assert_int_equal(pb_verify(v, "1772713845", sig, "{}", 2, NOW), PB_VERIFY_OK);
        sign_req(&other, "1772713845", "{}", sig, sizeof(sig));
        assert_int_equal(pb_verify(v, "1772713845", sig, "{}", 2, NOW),
                         PB_VERIFY_SIGNATURE_MISMATCH);
        pb_verifier_free(v);
}

static void test_bad_keys(void **state)
{
        (void)state;
        char err[256];
        assert_null(pb_verifier_new("", 300, err, sizeof(err)));
        assert_non_null(strstr(err, "no public key"));
        assert_null(pb_verifier_new("c2hvcnQ=", 300, err, sizeof(err)));
        assert_non_null(strstr(err, "not base64 of a raw 32-byte Ed25519 key"));
        assert_null(pb_verifier_new("!!!", 300, err, sizeof(err)));
        /* an SPKI/DER key (44 bytes) is not a raw key */
        assert_null(pb_verifier_new(
            "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", 300, err, sizeof(err)));
}

/* Signatures made here with libsodium, for tests/js/ed25519-interop.js to
 * verify with Node's crypto (OpenSSL): interop in the other direction. */
static void test_emit_vectors_for_node(void **state)
{
        (void)state;
        FILE *f = fopen(PB_VECTORS_OUT, "w");
        assert_non_null(f);
        for (int i = 0; i < 20; i++) {
                struct signer s;
                signer_init(&s);
                char ts[16], body[128], sig[128];
                snprintf(ts, sizeof(ts), "%d", NOW + i);
                snprintf(
                    body, sizeof(body),
                    "{\"data\":{\"id\":\"ev-%d\",\"payload\":{\"comment\":\"Überprüfung %d\"}}}", i,
                    i);
                sign_req(&s, ts, body, sig, sizeof(sig));
                fprintf(f,
                        "{\"public_key\":\"%s\",\"timestamp\":\"%s\",\"signature\":\"%s\",\"body_"
                        "hex\":\"",
                        s.pk64, ts, sig);
                for (const char *p = body; *p; p++)
                        fprintf(f, "%02x", (unsigned char)*p);
                fprintf(f, "\"}\n");
        }
        fclose(f);
}

int main(void)
{
        assert_true(sodium_init() >= 0);
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rfc8032_vectors),
            cmocka_unit_test(test_accepts_and_rejects),
            cmocka_unit_test(test_key_rotation),
            cmocka_unit_test(test_bad_keys),
            cmocka_unit_test(test_emit_vectors_for_node),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

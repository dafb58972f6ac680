/* Webhook signature verification: Telnyx signs "<telnyx-timestamp>|<raw body>"
 * with Ed25519 (docs/telnyx-api.md §5). Checked with libsodium against one or more
 * public keys (key rotation), inside a symmetric timestamp window.
 *
 * Ownership: pb_verifier_new() returns a verifier freed by pb_verifier_free();
 * it keeps its own copy of the keys. pb_verify() is thread-safe. */
#ifndef PB_HTTP_VERIFY_H
#define PB_HTTP_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#define PB_VERIFY_MAX_KEYS 8

/* Why a request was rejected; the names are stable (metrics labels, JSON). */
typedef enum pb_verify_rc {
        PB_VERIFY_OK = 0,
        PB_VERIFY_MISSING_TIMESTAMP,
        PB_VERIFY_MISSING_SIGNATURE,
        PB_VERIFY_BAD_TIMESTAMP,          /* not a decimal number of seconds */
        PB_VERIFY_TIMESTAMP_TOO_OLD,      /* older than the tolerance */
        PB_VERIFY_TIMESTAMP_IN_FUTURE,    /* ahead of the clock by more than it */
        PB_VERIFY_BAD_SIGNATURE_ENCODING, /* not base64 of 64 bytes */
        PB_VERIFY_SIGNATURE_MISMATCH,
        PB_VERIFY_REPEATED_HEADER, /* telnyx-timestamp or the signature sent twice */
        PB_VERIFY__COUNT
} pb_verify_rc_t;

typedef struct pb_verifier pb_verifier_t;

/* Builds a verifier from a list of base64 keys separated by commas, spaces or
 * newlines. Every key must decode to exactly 32 bytes. */
pb_verifier_t *pb_verifier_new(const char *keys_b64, int64_t tolerance_s, char *errstr,
                               size_t errsz);

/* Frees the verifier. */
void pb_verifier_free(pb_verifier_t *v);

/* Number of keys loaded. */
int pb_verifier_key_count(const pb_verifier_t *v);

/* The most bytes "<telnyx-timestamp>|" takes before the body. */
#define PB_VERIFY_PREFIX_MAX 16

/* A request's headers, checked before its body is read: both present, the
 * timestamp a decimal number of seconds within the window at now_s, the
 * signature padded base64 of 64 bytes (decoded into sig). Whitespace after
 * a value (RFC 9110 §5.5: not part of it, as a web framework hands it to
 * the SDKs) is ignored. On PB_VERIFY_OK, prefix holds "<timestamp>|" (at
 * most PB_VERIFY_PREFIX_MAX bytes, *prefix_len of them): the start of the
 * signed message. */
pb_verify_rc_t pb_verify_headers(const pb_verifier_t *v, const char *timestamp,
                                 const char *signature, int64_t now_s, unsigned char sig[64],
                                 char prefix[PB_VERIFY_PREFIX_MAX], size_t *prefix_len);

/* The Ed25519 check of a signed message ("<timestamp>|<body>", contiguous)
 * against every key: PB_VERIFY_OK or PB_VERIFY_SIGNATURE_MISMATCH. */
pb_verify_rc_t pb_verify_message(const pb_verifier_t *v, const unsigned char sig[64],
                                 const void *msg, size_t mlen);

/* Both at once, for a body with no room before it (it is copied once):
 * verifies a request at time now_s (Unix seconds). timestamp and signature
 * are the header values (NULL when absent). */
pb_verify_rc_t pb_verify(const pb_verifier_t *v, const char *timestamp, const char *signature,
                         const char *body, size_t body_len, int64_t now_s);

/* Stable name of a result, e.g. "signature_mismatch". */
const char *pb_verify_rc_name(pb_verify_rc_t rc);

/* Human sentence for a result. */
const char *pb_verify_rc_text(pb_verify_rc_t rc);

#endif

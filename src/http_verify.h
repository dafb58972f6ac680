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

/* Verifies a request at time now_s (Unix seconds). timestamp and signature
 * are the header values (NULL when absent). */
pb_verify_rc_t pb_verify(const pb_verifier_t *v, const char *timestamp, const char *signature,
                         const char *body, size_t body_len, int64_t now_s);

/* Stable name of a result, e.g. "signature_mismatch". */
const char *pb_verify_rc_name(pb_verify_rc_t rc);

/* Human sentence for a result. */
const char *pb_verify_rc_text(pb_verify_rc_t rc);

#endif

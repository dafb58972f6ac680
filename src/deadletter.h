/* Dead-letter records: the one place their headers are built, for both
 * stages. A "normalize" dead letter is input that could not become an
 * envelope; a "produce" dead letter is a record Kafka refused for good. The
 * value is the original input bytes (docs/envelope.md), or their first
 * PB_DL_PREFIX_BYTES when even the dead letter is too large for Kafka. */
#ifndef PB_DEADLETTER_H
#define PB_DEADLETTER_H

#include <stddef.h>

#include "record.h"

typedef struct pb_deadletter {
        const char *stage;          /* "normalize" or "produce" */
        const char *error;          /* the reason, naming the field or the Kafka error */
        const char *error_code;     /* Kafka error name (produce), else NULL */
        const char *original_topic; /* topic it was meant for (produce), else NULL */
        pb_provenance_t prov;       /* how, when and where it was received */
        /* Set when the value is not the input's bytes (a prefix: the whole
         * did not fit in a record; or redacted): the SHA-256 (hex) and size of
         * those bytes, else NULL. Readers of the topic name the input by it. */
        const char *original_sha256;
        const char *original_bytes;
        /* PB_DL_ENCODING_JSON_BASE64 when the input was not publishable
         * JSON and the value holds its bytes as {"raw_base64":"..."}
         * (RFC 4648, padded), else NULL (the value is the input itself). */
        const char *value_encoding;
        /* "privacy" when the privacy policy changed the value, else NULL. */
        const char *redacted;
} pb_deadletter_t;

#define PB_DL_ENCODING_JSON_BASE64 "json_base64"

/* Most headers pb_deadletter_headers() writes. */
#define PB_DL_MAX_HEADERS 11

/* A dead letter refused for its size is sent again with this much of its
 * value, and the whole value's hash and size in headers. */
#define PB_DL_PREFIX_BYTES 8192

/* Fills out (room for PB_DL_MAX_HEADERS) with the pb_* headers of a dead
 * letter, leaving out absent values; returns how many. Strings are borrowed
 * from dl. */
size_t pb_deadletter_headers(const pb_deadletter_t *dl, pb_header_t *out);

/* The {"raw_base64":"..."} value of input that is not publishable JSON
 * (padded RFC 4648 base64 of bytes[0..len)); NUL-terminated, the caller
 * frees it. NULL if out of memory. */
char *pb_deadletter_wrap(const void *bytes, size_t len);

/* The bytes a wrapped value holds, decoded into a new buffer (*out, *out_len;
 * the caller frees *out). Returns 0, or -1 if value is not such a wrapper. */
int pb_deadletter_unwrap(const char *value, size_t len, unsigned char **out, size_t *out_len);

/* Room for pb_deadletter_reject_id(): "sha256:" and 64 hex digits. */
#define PB_DL_REJECT_ID_LEN (7 + 64)

/* The id of a rejected input, which has none of its own: "sha256:" and the
 * hex SHA-256 of its bytes. The pipeline names a rejection by it, and the
 * readers of the topics (reconcile, index) recognize its dead letter by it.
 * out must hold PB_DL_REJECT_ID_LEN + 1 bytes. */
void pb_deadletter_reject_id(const void *bytes, size_t len, char *out);

#endif

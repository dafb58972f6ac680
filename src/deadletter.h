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
        /* Set when the value is only a prefix (the whole did not fit in a
         * record): the whole value's SHA-256 (hex) and size, else NULL. */
        const char *original_sha256;
        const char *original_bytes;
        /* PB_DL_ENCODING_JSON_BASE64 when the input was not publishable
         * JSON and the value holds its bytes as {"raw_base64":"..."}
         * (RFC 4648, padded), else NULL (the value is the input itself). */
        const char *value_encoding;
} pb_deadletter_t;

#define PB_DL_ENCODING_JSON_BASE64 "json_base64"

/* Most headers pb_deadletter_headers() writes. */
#define PB_DL_MAX_HEADERS 10

/* A dead letter refused for its size is sent again with this much of its
 * value, and the whole value's hash and size in headers. */
#define PB_DL_PREFIX_BYTES 8192

/* Fills out (room for PB_DL_MAX_HEADERS) with the pb_* headers of a dead
 * letter, leaving out absent values; returns how many. Strings are borrowed
 * from dl. */
size_t pb_deadletter_headers(const pb_deadletter_t *dl, pb_header_t *out);

#endif

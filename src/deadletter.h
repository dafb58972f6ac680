/* Dead-letter records: the one place their headers are built, for both
 * stages. A "normalize" dead letter is input that could not become an
 * envelope; a "produce" dead letter is a record Kafka refused for good. The
 * value is always the original input bytes (docs/envelope.md). */
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
} pb_deadletter_t;

/* Most headers pb_deadletter_headers() writes. */
#define PB_DL_MAX_HEADERS 7

/* Fills out (room for PB_DL_MAX_HEADERS) with the pb_* headers of a dead
 * letter, leaving out absent values; returns how many. Strings are borrowed
 * from dl. */
size_t pb_deadletter_headers(const pb_deadletter_t *dl, pb_header_t *out);

#endif

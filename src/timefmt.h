/* RFC 3339 timestamps: pure parsing and formatting, no locale, no time zone
 * database, no clock. */
#ifndef PB_TIMEFMT_H
#define PB_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Parses an RFC 3339 date-time ("2026-03-05T12:30:45.123456Z", offsets allowed)
 * into microseconds since the epoch, UTC. Returns 0, or -1 if s is not one. */
int pb_time_parse_rfc3339(const char *s, int64_t *us_out);

/* Formats microseconds since the epoch as RFC 3339 UTC, keeping sub-second
 * digits only when they are non-zero (6 digits). Returns 0 or -1 if too small. */
int pb_time_format_us(int64_t us, char *out, size_t outsz);

/* Formats milliseconds since the epoch as RFC 3339 UTC with 3 digits. */
int pb_time_format_ms(int64_t ms, char *out, size_t outsz);

#endif

/* Logging: one line per event on stderr, logfmt (ts=... level=... msg="..."
 * key=value) or JSON (one object per line), so operators can grep and log
 * shippers can parse. Lines never interleave between threads. */
#ifndef PB_LOG_H
#define PB_LOG_H

#include <stddef.h>

enum pb_log_level { PB_LOG_ERROR = 0, PB_LOG_WARN, PB_LOG_INFO, PB_LOG_DEBUG };

/* One key=value of a line; number: the value is printed unquoted in JSON. */
typedef struct pb_log_field {
        const char *key;
        const char *value;
        int number;
} pb_log_field_t;

/* Sets the most verbose level that is printed. */
void pb_log_set_level(enum pb_log_level lvl);

/* 0: logfmt (the default), 1: JSON lines. */
void pb_log_set_format(int json);

/* 1 if a line at lvl would be printed. */
int pb_log_enabled(enum pb_log_level lvl);

/* Parses "error", "warn", "info", "debug"; returns -1 if unknown. */
int pb_log_level_parse(const char *s);

/* Logs one line at lvl; the message is quoted and escaped. */
void pb_log(enum pb_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same with fields after the message. */
void pb_log_fields(enum pb_log_level lvl, const pb_log_field_t *fields, size_t n, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

#define pb_err(...)   pb_log(PB_LOG_ERROR, __VA_ARGS__)
#define pb_warn(...)  pb_log(PB_LOG_WARN, __VA_ARGS__)
#define pb_info(...)  pb_log(PB_LOG_INFO, __VA_ARGS__)
#define pb_debug(...) pb_log(PB_LOG_DEBUG, __VA_ARGS__)

#endif

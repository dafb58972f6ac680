/* Logging: one line per event on stderr, logfmt (ts=... level=... msg="..."
 * key=value) or JSON (one object per line), so operators can grep and log
 * shippers can parse. Lines never interleave between threads. */
#ifndef PB_LOG_H
#define PB_LOG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

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

/* A budget of lines for what an outsider can make us say (a refused
 * request, a cut connection): at most PB_LOG_LIMIT_LINES a second; the rest
 * are left out and counted, and the next line written says how many. One
 * per kind of line, initialised with PB_LOG_LIMIT_INIT. */
typedef struct pb_log_limit {
        pthread_mutex_t lock;
        int64_t window_ms;
        unsigned lines, left_out;
} pb_log_limit_t;
#define PB_LOG_LIMIT_INIT                                                                          \
        {                                                                                          \
                PTHREAD_MUTEX_INITIALIZER, 0, 0, 0                                                 \
        }
#define PB_LOG_LIMIT_LINES 10

/* Logs like pb_log() within the limit's budget: returns 1 if the line was
 * written (or is below the level), 0 if it was left out. */
int pb_log_limited(pb_log_limit_t *l, enum pb_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define pb_err(...)   pb_log(PB_LOG_ERROR, __VA_ARGS__)
#define pb_warn(...)  pb_log(PB_LOG_WARN, __VA_ARGS__)
#define pb_info(...)  pb_log(PB_LOG_INFO, __VA_ARGS__)
#define pb_debug(...) pb_log(PB_LOG_DEBUG, __VA_ARGS__)

#endif

/* Logging: one line per event on stderr, logfmt style, so operators can grep
 * and log shippers can parse: ts=... level=... msg="...". */
#ifndef PB_LOG_H
#define PB_LOG_H

enum pb_log_level { PB_LOG_ERROR = 0, PB_LOG_WARN, PB_LOG_INFO, PB_LOG_DEBUG };

/* Sets the most verbose level that is printed. */
void pb_log_set_level(enum pb_log_level lvl);

/* Parses "error", "warn", "info", "debug"; returns -1 if unknown. */
int pb_log_level_parse(const char *s);

/* Logs one line at lvl; the message is quoted and escaped. */
void pb_log(enum pb_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pb_err(...)   pb_log(PB_LOG_ERROR, __VA_ARGS__)
#define pb_warn(...)  pb_log(PB_LOG_WARN, __VA_ARGS__)
#define pb_info(...)  pb_log(PB_LOG_INFO, __VA_ARGS__)
#define pb_debug(...) pb_log(PB_LOG_DEBUG, __VA_ARGS__)

#endif

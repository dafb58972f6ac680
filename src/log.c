#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pb.h"
#include "timefmt.h"

static enum pb_log_level log_level = PB_LOG_INFO;
static int log_json;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

#define LINE_MAX_BYTES 6000
/* Escaped text (the message, field values) stops here; the rest of a line's
 * room is kept for its structure (keys, quotes, "}"), so a cut line still
 * parses. */
#define TEXT_MAX_BYTES (LINE_MAX_BYTES - 512)

void pb_log_set_level(enum pb_log_level lvl)
{
        log_level = lvl;
}

void pb_log_set_format(int json)
{
        log_json = json;
}

int pb_log_enabled(enum pb_log_level lvl)
{
        return lvl <= log_level;
}

int pb_log_level_parse(const char *s)
{
        for (int i = 0; i < 4; i++)
                if (strcmp(s, level_names[i]) == 0)
                        return i;
        return -1;
}

/* Appends s escaped for a quoted logfmt value or a JSON string. */
static size_t put_escaped(char *line, size_t n, const char *s)
{
        for (const char *p = s; *p && n < TEXT_MAX_BYTES; p++) {
                unsigned char c = (unsigned char)*p;
                if (c == '"' || c == '\\') {
                        line[n++] = '\\';
                        line[n++] = (char)c;
                } else if (c == '\n') {
                        line[n++] = '\\';
                        line[n++] = 'n';
                } else if (c < 0x20) {
                        n += (size_t)snprintf(line + n, 8, "\\u%04x", c);
                } else {
                        line[n++] = (char)c;
                }
        }
        return n;
}

/* Appends s, bounded; the caller terminates the line. */
static size_t put(char *line, size_t n, const char *s)
{
        while (*s && n < LINE_MAX_BYTES - 2) /* room for "\n" and NUL */
                line[n++] = *s++;
        return n;
}

/* logfmt values are bare unless they need quotes. */
static int needs_quotes(const char *v)
{
        if (!*v)
                return 1;
        for (const char *p = v; *p; p++)
                if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p < 0x20)
                        return 1;
        return 0;
}

static void emit(enum pb_log_level lvl, const pb_log_field_t *fields, size_t nf, const char *fmt,
                 va_list ap) __attribute__((format(printf, 4, 0)));

static void emit(enum pb_log_level lvl, const pb_log_field_t *fields, size_t nf, const char *fmt,
                 va_list ap)
{
        char msg[2048], ts[40], line[LINE_MAX_BYTES];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        pb_time_format_ms(pb_now_ms(), ts, sizeof(ts));
        size_t n = 0;
        if (log_json) {
                n = put(line, n, "{\"ts\":\"");
                n = put(line, n, ts);
                n = put(line, n, "\",\"level\":\"");
                n = put(line, n, level_names[lvl]);
                n = put(line, n, "\",\"msg\":\"");
                n = put_escaped(line, n, msg);
                n = put(line, n, "\"");
                for (size_t i = 0; i < nf; i++) {
                        n = put(line, n, ",\"");
                        n = put(line, n, fields[i].key);
                        n = put(line, n, fields[i].number ? "\":" : "\":\"");
                        n = put_escaped(line, n, fields[i].value ? fields[i].value : "");
                        if (!fields[i].number)
                                n = put(line, n, "\"");
                }
                n = put(line, n, "}");
        } else {
                n = put(line, n, "ts=");
                n = put(line, n, ts);
                n = put(line, n, " level=");
                n = put(line, n, level_names[lvl]);
                n = put(line, n, " msg=\"");
                n = put_escaped(line, n, msg);
                n = put(line, n, "\"");
                for (size_t i = 0; i < nf; i++) {
                        const char *v = fields[i].value ? fields[i].value : "";
                        n = put(line, n, " ");
                        n = put(line, n, fields[i].key);
                        n = put(line, n, "=");
                        if (needs_quotes(v)) {
                                n = put(line, n, "\"");
                                n = put_escaped(line, n, v);
                                n = put(line, n, "\"");
                        } else {
                                n = put(line, n, v);
                        }
                }
        }
        line[n++] = '\n';
        line[n] = '\0';
        /* One fputs per line under a lock: lines from threads never interleave. */
        pthread_mutex_lock(&log_lock);
        fputs(line, stderr);
        fflush(stderr);
        pthread_mutex_unlock(&log_lock);
}

void pb_log(enum pb_log_level lvl, const char *fmt, ...)
{
        if (lvl > log_level)
                return;
        va_list ap;
        va_start(ap, fmt);
        emit(lvl, NULL, 0, fmt, ap);
        va_end(ap);
}

void pb_log_fields(enum pb_log_level lvl, const pb_log_field_t *fields, size_t n, const char *fmt,
                   ...)
{
        if (lvl > log_level)
                return;
        va_list ap;
        va_start(ap, fmt);
        emit(lvl, fields, n, fmt, ap);
        va_end(ap);
}

int pb_log_limited(pb_log_limit_t *l, enum pb_log_level lvl, const char *fmt, ...)
{
        if (lvl > log_level)
                return 1;
        int64_t now = pb_mono_ms();
        unsigned left_out = 0;
        pthread_mutex_lock(&l->lock);
        if (now - l->window_ms >= 1000) {
                l->window_ms = now;
                l->lines = 0;
        }
        int write = l->lines < PB_LOG_LIMIT_LINES;
        if (write) {
                l->lines++;
                left_out = l->left_out;
                l->left_out = 0;
        } else {
                l->left_out++;
        }
        pthread_mutex_unlock(&l->lock);
        if (!write)
                return 0;
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (left_out)
                pb_log(lvl, "%s (and %u more like it left out of the log)", msg, left_out);
        else
                pb_log(lvl, "%s", msg);
        return 1;
}

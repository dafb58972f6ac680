#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pb.h"
#include "timefmt.h"

static enum pb_log_level log_level = PB_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void pb_log_set_level(enum pb_log_level lvl)
{
        log_level = lvl;
}

int pb_log_level_parse(const char *s)
{
        for (int i = 0; i < 4; i++)
                if (strcmp(s, level_names[i]) == 0)
                        return i;
        return -1;
}

void pb_log(enum pb_log_level lvl, const char *fmt, ...)
{
        char msg[2048], ts[40];
        va_list ap;

        if (lvl > log_level)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        pb_time_format_ms(pb_now_ms(), ts, sizeof(ts));

        /* One fputs per line under a lock: lines from threads never interleave. */
        char line[4400];
        size_t n =
            (size_t)snprintf(line, sizeof(line), "ts=%s level=%s msg=\"", ts, level_names[lvl]);
        for (const char *p = msg; *p && n < sizeof(line) - 4; p++) {
                if (*p == '"' || *p == '\\') {
                        line[n++] = '\\';
                        line[n++] = *p;
                } else if (*p == '\n') {
                        line[n++] = '\\';
                        line[n++] = 'n';
                } else {
                        line[n++] = *p;
                }
        }
        line[n++] = '"';
        line[n++] = '\n';
        line[n] = '\0';
        pthread_mutex_lock(&log_lock);
        fputs(line, stderr);
        fflush(stderr);
        pthread_mutex_unlock(&log_lock);
}

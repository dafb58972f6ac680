#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "pb.h"

int pb_seterr(char *errstr, size_t errsz, const char *fmt, ...)
{
        if (errstr && errsz) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(errstr, errsz, fmt, ap);
                va_end(ap);
        }
        return PB_ERR;
}

int64_t pb_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t pb_mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pb_cond_init(pthread_cond_t *c)
{
        pthread_condattr_t a;
        pthread_condattr_init(&a);
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        int rc = pthread_cond_init(c, &a);
        pthread_condattr_destroy(&a);
        return rc;
}

void pb_cond_timedwait_ms(pthread_cond_t *c, pthread_mutex_t *m, int64_t ms)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if (ms < 0)
                ms = 0;
        ts.tv_sec += (time_t)(ms / 1000);
        ts.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(c, m, &ts);
}

void pb_sleep_ms(int64_t ms)
{
        struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
}

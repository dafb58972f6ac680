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

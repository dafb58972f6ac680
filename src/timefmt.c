#include "timefmt.h"

#include <stdio.h>
#include <string.h>

/* Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's
 * days_from_civil); avoids timegm() and its time zone state. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
        y -= m <= 2;
        const int64_t era = (y >= 0 ? y : y - 399) / 400;
        const unsigned yoe = (unsigned)(y - era * 400);
        const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
        z += 719468;
        const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        const unsigned doe = (unsigned)(z - era * 146097);
        const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        const unsigned mp = (5 * doy + 2) / 153;
        *d = doy - (153 * mp + 2) / 5 + 1;
        *m = mp < 10 ? mp + 3 : mp - 9;
        *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, int n, int *out)
{
        int v = 0;
        for (int i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        *out = v;
        return 0;
}

static int leap(int y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int pb_time_parse_rfc3339(const char *s, int64_t *us_out)
{
        static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int Y, M, D, h, mi, sec;
        size_t len = strlen(s);

        if (len < 20 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
            digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
            digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
            digits(s + 17, 2, &sec))
                return -1;
        if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] + (M == 2 && leap(Y)) || h > 23 ||
            mi > 59 || sec > 60)
                return -1;
        if (sec == 60) /* leap second: clamp, POSIX time has none */
                sec = 59;

        const char *p = s + 19;
        int64_t frac_us = 0;
        if (*p == '.') {
                int nd = 0;
                p++;
                while (*p >= '0' && *p <= '9') {
                        if (nd < 6)
                                frac_us = frac_us * 10 + (*p - '0');
                        nd++;
                        p++;
                }
                if (nd == 0)
                        return -1;
                for (int i = nd; i < 6; i++)
                        frac_us *= 10;
        }
        int64_t off_s = 0;
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                int oh, om;
                if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 ||
                    om > 59)
                        return -1;
                off_s = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
                p += 6;
        } else {
                return -1;
        }
        if (*p != '\0')
                return -1;

        int64_t days = days_from_civil(Y, (unsigned)M, (unsigned)D);
        int64_t secs = days * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec - off_s;
        *us_out = secs * 1000000 + frac_us;
        return 0;
}

/* Writes v as exactly w decimal digits, zero-padded (v < 10^w). */
static char *put_digits(char *o, uint64_t v, unsigned w)
{
        for (unsigned i = w; i-- > 0;) {
                o[i] = (char)('0' + v % 10);
                v /= 10;
        }
        return o + w;
}

static int format_common(int64_t us, int frac_digits, char *out, size_t outsz)
{
        int64_t secs = us / 1000000, frac = us % 1000000;
        if (frac < 0) {
                frac += 1000000;
                secs -= 1;
        }
        int64_t days = secs / 86400, rem = secs % 86400;
        if (rem < 0) {
                rem += 86400;
                days -= 1;
        }
        int64_t y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        int n;
        if (y < 0 || y > 9999) {
                if (frac_digits == 6)
                        n = snprintf(out, outsz, "%04lld-%02u-%02uT%02d:%02d:%02d.%06lldZ",
                                     (long long)y, m, d, (int)(rem / 3600), (int)(rem / 60 % 60),
                                     (int)(rem % 60), (long long)frac);
                else if (frac_digits == 3)
                        n = snprintf(out, outsz, "%04lld-%02u-%02uT%02d:%02d:%02d.%03lldZ",
                                     (long long)y, m, d, (int)(rem / 3600), (int)(rem / 60 % 60),
                                     (int)(rem % 60), (long long)(frac / 1000));
                else
                        n = snprintf(out, outsz, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y,
                                     m, d, (int)(rem / 3600), (int)(rem / 60 % 60),
                                     (int)(rem % 60));
                return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
        }
        /* Four-digit years, the only ones events carry, are written digit by
         * digit: snprintf was 8% of normalizing (every event formats two). */
        char buf[32], *o = buf;
        o = put_digits(o, (uint64_t)y, 4);
        *o++ = '-';
        o = put_digits(o, m, 2);
        *o++ = '-';
        o = put_digits(o, d, 2);
        *o++ = 'T';
        o = put_digits(o, (uint64_t)(rem / 3600), 2);
        *o++ = ':';
        o = put_digits(o, (uint64_t)(rem / 60 % 60), 2);
        *o++ = ':';
        o = put_digits(o, (uint64_t)(rem % 60), 2);
        if (frac_digits) {
                *o++ = '.';
                o = put_digits(o, (uint64_t)(frac_digits == 6 ? frac : frac / 1000),
                               (unsigned)frac_digits);
        }
        *o++ = 'Z';
        size_t len = (size_t)(o - buf);
        if (len >= outsz)
                return -1;
        memcpy(out, buf, len);
        out[len] = '\0';
        return 0;
}

int pb_time_format_us(int64_t us, char *out, size_t outsz)
{
        return format_common(us, us % 1000000 ? 6 : 0, out, outsz);
}

int pb_time_format_ms(int64_t ms, char *out, size_t outsz)
{
        return format_common(ms * 1000, 3, out, outsz);
}

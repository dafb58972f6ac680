#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pb.h"

int pb_wake_open(int fds[2])
{
        if (pipe(fds)) {
                fds[0] = fds[1] = -1;
                return PB_ERR;
        }
        for (int i = 0; i < 2; i++) {
                fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
                fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        }
        return 0;
}

void pb_wake_wait(int fd, int ms)
{
        struct pollfd pfd = {fd, POLLIN, 0};
        char buf[256];
        if (poll(&pfd, 1, ms) > 0)
                while (read(fd, buf, sizeof(buf)) > 0)
                        ;
}

void pb_wake_close(int fds[2])
{
        if (fds[0] < 0)
                return;
        close(fds[0]);
        close(fds[1]);
        fds[0] = fds[1] = -1;
}

int pb_setfail(pb_fail_t *fail, pb_fail_t kind, char *errstr, size_t errsz, const char *fmt, ...)
{
        if (fail)
                *fail = kind;
        if (errstr && errsz) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(errstr, errsz, fmt, ap);
                va_end(ap);
        }
        return PB_ERR;
}

int pb_fail_exit(pb_fail_t f)
{
        return f == PB_FAIL_SYSTEM   ? PB_EXIT_OSERR
               : f == PB_FAIL_IN_USE ? PB_EXIT_UNAVAILABLE
                                     : PB_EXIT_CONFIG;
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

int pb_pause_unless_stopped(pthread_cond_t *c, pthread_mutex_t *m, volatile sig_atomic_t *stop,
                            int64_t ms)
{
        pthread_mutex_lock(m);
        if (!*stop)
                pb_cond_timedwait_ms(c, m, ms);
        int stopped = *stop != 0;
        pthread_mutex_unlock(m);
        return stopped;
}

void pb_sleep_ms(int64_t ms)
{
        struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
}

int pb_read_small_file(const char *path, size_t max, char **out, size_t *len, char *errstr,
                       size_t errsz)
{
        /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return pb_seterr(errstr, errsz, "%s", strerror(errno));
        struct stat sb;
        if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
                close(fd);
                return pb_seterr(errstr, errsz, "not a regular file%s",
                                 S_ISDIR(sb.st_mode) ? " (a directory)" : "");
        }
        if ((size_t)sb.st_size > max) {
                close(fd);
                return pb_seterr(errstr, errsz, "larger than %zu bytes", max);
        }
        char *buf = malloc((size_t)sb.st_size + 1);
        size_t n = 0;
        while (buf && n < (size_t)sb.st_size) {
                ssize_t r = read(fd, buf + n, (size_t)sb.st_size - n);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                n += (size_t)r;
        }
        close(fd);
        if (!buf)
                return pb_seterr(errstr, errsz, "out of memory");
        buf[n] = '\0';
        *out = buf;
        *len = n;
        return 0;
}

int pb_url_is_loopback(const char *url)
{
        const char *h = strstr(url, "://");
        h = h ? h + 3 : url;
        const char *at = strchr(h, '@');
        const char *slash = h + strcspn(h, "/?#");
        if (at && at < slash)
                h = at + 1;
        return !strncmp(h, "localhost", 9) || !strncmp(h, "127.", 4) || !strncmp(h, "[::1]", 5);
}

void pb_url_redact(const char *url, char *out, size_t outsz)
{
        const char *s = url ? strstr(url, "://") : NULL;
        const char *host = s ? s + 3 : NULL;
        const char *end = host ? host + strcspn(host, "/?#") : NULL;
        const char *at = NULL;
        for (const char *p = host; p && p < end; p++)
                if (*p == '@')
                        at = p; /* the last one: a password may hold '@' */
        if (!at) {
                snprintf(out, outsz, "%s", url ? url : "");
                return;
        }
        snprintf(out, outsz, "%.*s***%s", (int)(host - url), url, at);
}

uint64_t pb_hash64(const void *p, size_t n)
{
        /* Word by word: byte-wise FNV-1a was 5% of normalizing (its one
         * multiply per byte is a chain of ~250 for a payload). Each step is
         * a bijection of the state for a given word, the length is mixed in
         * first, and murmur3's finalizer spreads the last word. */
        const unsigned char *b = p;
        uint64_t h = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)n * 0xC2B2AE3D27D4EB4FULL), w;
        for (; n >= 8; b += 8, n -= 8) {
                memcpy(&w, b, 8);
                h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
                h ^= h >> 29;
        }
        w = 0;
        memcpy(&w, b, n);
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 33;
        h *= 0xC4CEB9FE1A85EC53ULL;
        h ^= h >> 33;
        return h;
}

uint64_t pb_fnv1a_str(const char *s)
{
        uint64_t h = 1469598103934665603ULL;
        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 1099511628211ULL;
        }
        return h;
}

void pb_no_core_dumps(void)
{
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);
#if !defined(__SANITIZE_ADDRESS__)
        /* Not with the sanitizers: LeakSanitizer stops the process through
         * ptrace at exit, which an undumpable process refuses. */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}

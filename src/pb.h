/* portout-bridge: definitions shared by every module.
 *
 * Conventions (see docs/design.md):
 *   - Functions that can fail return 0 (PB_OK) or a negative value and write a
 *     human-readable reason into a caller-supplied buffer (errstr, errsz).
 *   - Objects come in _new/_free pairs; _free(NULL) is a no-op.
 *   - Only main() decides to exit; exit codes follow sysexits.h. */
#ifndef PB_H
#define PB_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define PB_NAME "portout-bridge"
#ifndef PB_VERSION
#define PB_VERSION "0.1.0"
#endif

#define PB_OK  0
#define PB_ERR (-1)

/* Exit codes (sysexits.h values, restated so the docs can cite them). */
enum pb_exit {
        PB_EXIT_OK = 0,
        PB_EXIT_USAGE = 64,       /* EX_USAGE: bad command line */
        PB_EXIT_DATAERR = 65,     /* EX_DATAERR: input that could not be used */
        PB_EXIT_UNAVAILABLE = 69, /* EX_UNAVAILABLE: Kafka/Telnyx unavailable */
        PB_EXIT_SOFTWARE = 70,    /* EX_SOFTWARE: internal error (a bug) */
        PB_EXIT_OSERR = 71,       /* EX_OSERR: the system refused memory, a thread, a pipe */
        PB_EXIT_TEMPFAIL = 75,    /* EX_TEMPFAIL: not everything delivered */
        PB_EXIT_NOPERM = 77,      /* EX_NOPERM: Kafka refused the bridge's credentials,
                                   * certificate or ACLs */
        PB_EXIT_CONFIG = 78       /* EX_CONFIG: configuration error */
};

/* Why a constructor failed (its errstr says the rest): the kind picks the
 * exit code, so no caller reads the message to decide. */
typedef enum pb_fail {
        PB_FAIL_CONFIG = 1, /* the configuration is wrong */
        PB_FAIL_SYSTEM,     /* out of memory, threads, descriptors */
        PB_FAIL_IN_USE      /* another process holds it (a port, a checkpoint) */
} pb_fail_t;

/* The exit code for a failure kind. */
int pb_fail_exit(pb_fail_t f);

/* Sets *fail (if fail is not NULL) and formats into errstr (if not NULL);
 * returns PB_ERR. pb_seterr() is the same without a kind. */
int pb_setfail(pb_fail_t *fail, pb_fail_t kind, char *errstr, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#define pb_seterr(errstr, errsz, ...) pb_setfail(NULL, PB_FAIL_CONFIG, errstr, errsz, __VA_ARGS__)

/* Size of the error buffers passed to functions that can fail. */
#define PB_ERRSZ 512

/* A 64-bit hash of n bytes, eight at a time (payload fingerprints; in
 * memory only, host byte order; not for anything an attacker could exploit
 * by collision). */
uint64_t pb_hash64(const void *p, size_t n);

/* 64-bit FNV-1a of a NUL-terminated string (hash tables). */
uint64_t pb_fnv1a_str(const char *s);

/* Wall-clock time in milliseconds since the Unix epoch. */
int64_t pb_now_ms(void);

/* Monotonic time in milliseconds (for timeouts, durations and TTLs). */
int64_t pb_mono_ms(void);

/* Initializes a condition variable whose timed waits run on CLOCK_MONOTONIC,
 * so a wall-clock step (NTP, a VM resume) cannot stretch or cut them. */
int pb_cond_init(pthread_cond_t *c);

/* Waits on c (m held) for at most ms milliseconds of monotonic time. */
void pb_cond_timedwait_ms(pthread_cond_t *c, pthread_mutex_t *m, int64_t ms);

/* A stoppable thread's pause: waits on c (taking m) for at most ms, less
 * if *stop is or becomes set (read under m, signalled on c). Returns *stop. */
int pb_pause_unless_stopped(pthread_cond_t *c, pthread_mutex_t *m, volatile sig_atomic_t *stop,
                            int64_t ms);

/* Sleeps ms milliseconds (relative, resumed after signals). */
void pb_sleep_ms(int64_t ms);

/* A thread's wake-up pipe (librdkafka's queue events, a stop): both ends
 * non-blocking and close-on-exec; fds[1] is written, fds[0] waited on.
 * PB_ERR with errno set, both ends then -1. */
int pb_wake_open(int fds[2]);

/* Waits up to ms for fd to be readable, and empties it. */
void pb_wake_wait(int fd, int ms);

/* Closes both ends of a pipe from pb_wake_open() (none if fds[0] is -1). */
void pb_wake_close(int fds[2]);

/* Reads a whole small file: a regular file (not a directory, FIFO or
 * device, which would hang or mislead) of at most max bytes. *out is
 * NUL-terminated and the caller's to free. PB_ERR with errstr saying why
 * (the caller names the file). */
int pb_read_small_file(const char *path, size_t max, char **out, size_t *len, char *errstr,
                       size_t errsz);

/* 1 if the URL's host is a loopback name or address. */
int pb_url_is_loopback(const char *url);

/* Copies url to out with any userinfo ("user:pass@" after the scheme)
 * replaced by "***@", so a credential in a URL is never printed. */
void pb_url_redact(const char *url, char *out, size_t outsz);

/* Keys in memory never reach a core file: no core dumps (RLIMIT_CORE 0),
 * and the process undumpable, which also keeps other processes of its user
 * out of /proc/PID/environ and /proc/PID/mem (but for the sanitizer build,
 * whose leak check needs ptrace). Called first thing by main. */
void pb_no_core_dumps(void);

#endif

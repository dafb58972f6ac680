#include "poll_checkpoint.h"
#include "jsoncheck.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "pb.h"
#include "timefmt.h"

#define MAX_FILE 4096

int pb_checkpoint_read(const char *path, int64_t *created_us, char *errstr, size_t errsz)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                if (errno == ENOENT)
                        return 0;
                return pb_seterr(errstr, errsz, "checkpoint %s: %s", path, strerror(errno));
        }
        char buf[MAX_FILE + 1];
        size_t n = fread(buf, 1, MAX_FILE, f);
        fclose(f);
        buf[n] = '\0';
        char why[PB_ERRSZ];
        json_object *o = pb_json_parse(buf, n, why, sizeof(why)), *v;
        int64_t us;
        int ok = o && json_object_object_get_ex(o, "created_at", &v) &&
                 json_object_is_type(v, json_type_string) &&
                 pb_time_parse_rfc3339(json_object_get_string(v), &us) == 0;
        json_object_put(o);
        if (!ok)
                return pb_seterr(errstr, errsz,
                                 "checkpoint %s is unreadable (expected {\"created_at\": "
                                 "RFC 3339}); fix or remove it",
                                 path);
        *created_us = us;
        return 1;
}

int pb_checkpoint_write(const char *path, int64_t created_us, char *errstr, size_t errsz)
{
        char ts[40], now[40], tmp[4096], body[256];
        pb_time_format_us(created_us, ts, sizeof(ts));
        pb_time_format_ms(pb_now_ms(), now, sizeof(now));
        int n = snprintf(body, sizeof(body),
                         "{\"version\":1,\"created_at\":\"%s\",\"written_at\":\"%s\"}\n", ts, now);
        if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) - 7)
                return pb_seterr(errstr, errsz, "checkpoint path too long");
        /* The fixed name earlier versions used, maybe left torn by a crash, or
         * planted: unlink() removes a symlink itself, never its target. */
        unlink(tmp);
        size_t tl = strlen(tmp);
        snprintf(tmp + tl, sizeof(tmp) - tl, ".XXXXXX");
        /* A new file of our own (O_EXCL, 0600) in the same directory: a
         * planted "checkpoint.json.tmp" symlink must not redirect the write. */
        int fd = mkstemp(tmp);
        if (fd < 0)
                return pb_seterr(errstr, errsz, "checkpoint %s: %s", tmp, strerror(errno));
        ssize_t w = write(fd, body, (size_t)n);
        if (w != n || fsync(fd) != 0) {
                int e = errno;
                close(fd);
                unlink(tmp);
                return pb_seterr(errstr, errsz, "checkpoint %s: %s", tmp,
                                 w != n ? "short write" : strerror(e));
        }
        close(fd);
        if (rename(tmp, path) != 0) {
                int e = errno;
                unlink(tmp);
                return pb_seterr(errstr, errsz, "checkpoint rename to %s: %s", path, strerror(e));
        }
        /* The rename is durable only once the directory is. */
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", path);
        int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
        }
        return 0;
}

int pb_checkpoint_lock(const char *path, char *errstr, size_t errsz)
{
        char lp[4096];
        if (snprintf(lp, sizeof(lp), "%s.lock", path) >= (int)sizeof(lp))
                return pb_seterr(errstr, errsz, "checkpoint path too long");
        /* O_NOFOLLOW: a planted symlink must not make us truncate and write
         * the file it names. */
        int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return pb_seterr(errstr, errsz, "checkpoint lock %s: %s", lp,
                                 errno == ELOOP ? "is a symbolic link; refusing to follow it"
                                                : strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
                int e = errno;
                char pid[32] = "";
                ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
                pid[n > 0 ? n : 0] = '\0';
                pid[strcspn(pid, "\n")] = '\0';
                close(fd);
                if (e == EWOULDBLOCK) {
                        pb_seterr(errstr, errsz,
                                  "checkpoint %s is in use by another poller (pid %s); "
                                  "only one process may poll with one checkpoint",
                                  path, *pid ? pid : "?");
                        return PB_CHECKPOINT_IN_USE;
                }
                return pb_seterr(errstr, errsz, "checkpoint lock %s: %s", lp, strerror(e));
        }
        char pid[32];
        int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) != n)
                (void)0; /* the pid is for the message only */
        return fd;
}

void pb_checkpoint_unlock(int fd)
{
        if (fd >= 0)
                close(fd); /* closing releases the flock */
}

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "poll_checkpoint.h"

static char dir[64], path[128], tmp[140];

static int setup(void **state)
{
        (void)state;
        snprintf(dir, sizeof(dir), "/tmp/pb-cp-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/checkpoint.json", dir);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        unlink(path);
        unlink(tmp);
        rmdir(dir);
        return 0;
}

static void write_file(const char *p, const char *s)
{
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(s, f);
        fclose(f);
}

static void test_roundtrip(void **state)
{
        (void)state;
        char err[256];
        int64_t us = 0;
        assert_int_equal(pb_checkpoint_read(path, &us, err, sizeof(err)), 0); /* none yet */
        assert_int_equal(pb_checkpoint_write(path, INT64_C(1772713845123456), err, sizeof(err)), 0);
        assert_int_equal(pb_checkpoint_read(path, &us, err, sizeof(err)), 1);
        assert_int_equal(us, INT64_C(1772713845123456));
        assert_int_equal(access(tmp, F_OK), -1); /* renamed away */
        assert_int_equal(pb_checkpoint_write(path, INT64_C(1772713900000000), err, sizeof(err)), 0);
        assert_int_equal(pb_checkpoint_read(path, &us, err, sizeof(err)), 1);
        assert_int_equal(us, INT64_C(1772713900000000));
}

/* A crash between write and rename leaves a torn temporary file: it is never
 * read, the previous checkpoint stands, and the next write replaces it. */
static void test_torn_temporary_file(void **state)
{
        (void)state;
        char err[256];
        int64_t us = 0;
        assert_int_equal(pb_checkpoint_write(path, INT64_C(1772713845000000), err, sizeof(err)), 0);
        write_file(tmp, "{\"version\":1,\"created_at\":\"2026-03-0");
        assert_int_equal(pb_checkpoint_read(path, &us, err, sizeof(err)), 1);
        assert_int_equal(us, INT64_C(1772713845000000));
        assert_int_equal(pb_checkpoint_write(path, INT64_C(1772713999000000), err, sizeof(err)), 0);
        assert_int_equal(pb_checkpoint_read(path, &us, err, sizeof(err)), 1);
        assert_int_equal(us, INT64_C(1772713999000000));
        assert_int_equal(access(tmp, F_OK), -1);
}

/* A planted symlink at the temporary name must not make the writer
 * overwrite its target; the checkpoint is a regular file only we can read. */
static void test_symlink_not_followed(void **state)
{
        (void)state;
        char err[256], victim[160];
        snprintf(victim, sizeof(victim), "%s/victim", dir);
        write_file(victim, "precious\n");
        assert_int_equal(symlink(victim, tmp), 0);
        assert_int_equal(pb_checkpoint_write(path, INT64_C(1772713845000000), err, sizeof(err)), 0);
        FILE *f = fopen(victim, "r");
        char buf[64] = "";
        assert_non_null(fgets(buf, sizeof(buf), f));
        fclose(f);
        assert_string_equal(buf, "precious\n");
        struct stat sb;
        assert_int_equal(lstat(path, &sb), 0);
        assert_true(S_ISREG(sb.st_mode));
        assert_int_equal(sb.st_mode & 0777, 0600);
        assert_int_equal(lstat(tmp, &sb), -1); /* the planted link is gone */
        unlink(victim);
}

static void test_unusable(void **state)
{
        (void)state;
        char err[256];
        int64_t us = 0;
        write_file(path, "garbage");
        assert_int_equal(pb_checkpoint_read(path, &us, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "unreadable"));
        write_file(path, "{\"created_at\":\"yesterday\"}");
        assert_int_equal(pb_checkpoint_read(path, &us, err, sizeof(err)), -1);
        char bad[200];
        snprintf(bad, sizeof(bad), "%s/no/such/dir/cp.json", dir);
        assert_int_equal(pb_checkpoint_write(bad, 1, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "No such file"));
}

/* One poller per checkpoint: a second lock is refused as "in use", naming
 * the holder's pid, and is free again once released. */
static void test_lock_in_use(void **state)
{
        (void)state;
        char err[256], lock[160], want[32];
        int fd = pb_checkpoint_lock(path, err, sizeof(err));
        assert_true(fd >= 0);
        assert_int_equal(pb_checkpoint_lock(path, err, sizeof(err)), PB_CHECKPOINT_IN_USE);
        snprintf(want, sizeof(want), "(pid %ld)", (long)getpid());
        assert_non_null(strstr(err, want));
        pb_checkpoint_unlock(fd);
        fd = pb_checkpoint_lock(path, err, sizeof(err));
        assert_true(fd >= 0);
        pb_checkpoint_unlock(fd);
        snprintf(lock, sizeof(lock), "%s.lock", path);
        unlink(lock);
        /* Any other failure is -1, not "in use". */
        assert_int_equal(pb_checkpoint_lock("/nonexistent-dir/cp.json", err, sizeof(err)), -1);
}

/* A planted "checkpoint.json.lock" symlink is refused, not followed: the
 * lock used to open it O_RDWR|O_CREAT and truncate it, so the bridge
 * overwrote whatever file the link named with its pid. */
static void test_lock_symlink_refused(void **state)
{
        (void)state;
        char err[256], lock[160], victim[160];
        snprintf(victim, sizeof(victim), "%s/victim", dir);
        snprintf(lock, sizeof(lock), "%s.lock", path);
        write_file(victim, "precious\n");
        assert_int_equal(symlink(victim, lock), 0);
        assert_int_equal(pb_checkpoint_lock(path, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "symbolic link"));
        FILE *f = fopen(victim, "r");
        char buf[64] = "";
        assert_non_null(fgets(buf, sizeof(buf), f));
        fclose(f);
        assert_string_equal(buf, "precious\n");
        unlink(lock);
        unlink(victim);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
            cmocka_unit_test_setup_teardown(test_torn_temporary_file, setup, teardown),
            cmocka_unit_test_setup_teardown(test_unusable, setup, teardown),
            cmocka_unit_test_setup_teardown(test_symlink_not_followed, setup, teardown),
            cmocka_unit_test_setup_teardown(test_lock_in_use, setup, teardown),
            cmocka_unit_test_setup_teardown(test_lock_symlink_refused, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

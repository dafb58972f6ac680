/* pb.c: the wake-up pipe the poll threads wait on, secret-safe URLs and the
 * small-file reader every configuration read goes through. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pb.h"

static void test_wake_pipe(void **state)
{
        (void)state;
        int w[2];
        assert_int_equal(pb_wake_open(w), 0);
        for (int i = 0; i < 2; i++) {
                assert_true(fcntl(w[i], F_GETFL) & O_NONBLOCK);
                assert_true(fcntl(w[i], F_GETFD) & FD_CLOEXEC);
        }
        /* Nothing written: the wait ends at its timeout. */
        int64_t t0 = pb_mono_ms();
        pb_wake_wait(w[0], 50);
        assert_true(pb_mono_ms() - t0 >= 40);
        /* Written (more than one read's worth): woken, and left empty. */
        char big[1000];
        memset(big, 'k', sizeof(big));
        assert_int_equal(write(w[1], big, sizeof(big)), (ssize_t)sizeof(big));
        t0 = pb_mono_ms();
        pb_wake_wait(w[0], 5000);
        assert_true(pb_mono_ms() - t0 < 1000);
        char c;
        assert_int_equal(read(w[0], &c, 1), -1);
        assert_int_equal(errno, EAGAIN);
        pb_wake_close(w);
        assert_int_equal(w[0], -1);
        assert_int_equal(w[1], -1);
        pb_wake_close(w); /* closed already: nothing to do */
}

static void test_url_redact(void **state)
{
        (void)state;
        char out[128];
        pb_url_redact("https://user:secret@api.example.org/v2", out, sizeof(out));
        assert_null(strstr(out, "secret"));
        assert_string_equal(out, "https://***@api.example.org/v2");
        pb_url_redact("https://api.telnyx.com/v2", out, sizeof(out));
        assert_string_equal(out, "https://api.telnyx.com/v2");
}

static void test_read_small_file(void **state)
{
        (void)state;
        char path[] = "/tmp/pb-test-XXXXXX", *buf = NULL, e[PB_ERRSZ];
        size_t n = 0;
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "abc\n", 4), 4);
        close(fd);
        assert_int_equal(pb_read_small_file(path, 16, &buf, &n, e, sizeof(e)), 0);
        assert_int_equal(n, 4);
        assert_string_equal(buf, "abc\n");
        free(buf);
        buf = NULL;
        assert_int_equal(pb_read_small_file(path, 3, &buf, &n, e, sizeof(e)), PB_ERR);
        assert_null(buf);
        unlink(path);
        assert_int_equal(pb_read_small_file("/tmp", 16, &buf, &n, e, sizeof(e)), PB_ERR);
        assert_non_null(strstr(e, "not a regular file"));
        assert_null(buf);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_wake_pipe),
            cmocka_unit_test(test_url_redact),
            cmocka_unit_test(test_read_small_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* systemd's notify protocol: a datagram to $NOTIFY_SOCKET (a path or an
 * abstract "@name"), nothing without it, an error for an address that is not
 * one; the watchdog interval only for this pid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "sdnotify.h"

static int bound(const char *name, int abstract)
{
        int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        size_t n = strlen(name);
        memcpy(sa.sun_path + abstract, name, n);
        socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + abstract);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
        return fd;
}

static void expect(int fd, const char *want)
{
        char buf[256];
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
        assert_true(n > 0);
        buf[n] = '\0';
        assert_string_equal(buf, want);
}

static void test_notify(void **state)
{
        (void)state;
        unsetenv("NOTIFY_SOCKET");
        assert_int_equal(pb_sd_notify("READY=1"), 0);
        char path[64];
        snprintf(path, sizeof(path), "/tmp/pb-notify-%ld", (long)getpid());
        remove(path);
        int fd = bound(path, 0);
        setenv("NOTIFY_SOCKET", path, 1);
        assert_int_equal(pb_sd_notify("READY=1\nSTATUS=serving"), 1);
        expect(fd, "READY=1\nSTATUS=serving");
        close(fd);
        remove(path);
        char name[64];
        snprintf(name, sizeof(name), "pb-notify-%ld", (long)getpid());
        fd = bound(name, 1);
        char at[80];
        snprintf(at, sizeof(at), "@%s", name);
        setenv("NOTIFY_SOCKET", at, 1);
        assert_int_equal(pb_sd_notify("WATCHDOG=1"), 1);
        expect(fd, "WATCHDOG=1");
        close(fd);
        setenv("NOTIFY_SOCKET", "relative/path", 1);
        assert_int_equal(pb_sd_notify("READY=1"), -1);
        unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog(void **state)
{
        (void)state;
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        assert_int_equal(pb_sd_watchdog_usec(), 0);
        setenv("WATCHDOG_USEC", "30000000", 1);
        assert_int_equal(pb_sd_watchdog_usec(), 30000000);
        char pid[32];
        snprintf(pid, sizeof(pid), "%ld", (long)getpid());
        setenv("WATCHDOG_PID", pid, 1);
        assert_int_equal(pb_sd_watchdog_usec(), 30000000);
        snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
        setenv("WATCHDOG_PID", pid, 1); /* meant for another process */
        assert_int_equal(pb_sd_watchdog_usec(), 0);
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_notify),
            cmocka_unit_test(test_watchdog),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

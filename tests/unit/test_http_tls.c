/* http_tls.c: a pair loaded and described, the checks that refuse a bad
 * one (another certificate's key, a truncated or empty PEM, a directory),
 * and a reload that keeps the old pair when the new one is bad. The
 * certificates are made here with the openssl command (an implementation
 * that is not GnuTLS); the handshakes are integration.tls's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_tls.h"
#include "pb.h"

static char dir[] = "/tmp/pb-tls-XXXXXX";

static void sh(const char *fmt, ...)
{
        char cmd[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        if (system(cmd) != 0)
                fail_msg("%s", cmd);
}

static const char *path(const char *name)
{
        static char p[4][256];
        static int i;
        i = (i + 1) % 4;
        snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
        return p[i];
}

static int setup(void **state)
{
        (void)state;
        if (!mkdtemp(dir))
                return -1;
        sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
           "-keyout ca.key -out ca.pem -days 5 -subj '/CN=test CA' 2>/dev/null && "
           "printf 'subjectAltName=DNS:bridge.example,IP:127.0.0.1\\n' > ext && "
           "for n in 1 2; do openssl req -newkey rsa:2048 -nodes -keyout s$n.key -out s$n.csr "
           "-subj \"/CN=bridge $n\" 2>/dev/null && openssl x509 -req -in s$n.csr -CA ca.pem "
           "-CAkey ca.key -set_serial 100$n -days 3 -extfile ext -out s$n.pem 2>/dev/null && "
           "cat s$n.pem ca.pem > chain$n.pem; done",
           dir);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        sh("rm -rf %s", dir);
        return 0;
}

static void test_load_and_describe(void **state)
{
        (void)state;
        char err[PB_ERRSZ];
        pb_tls_info_t ti;
        assert_int_equal(pb_tls_check(path("chain1.pem"), path("s1.key"), &ti, err, sizeof(err)),
                         0);
        assert_string_equal(ti.subject, "CN=bridge 1");
        assert_string_equal(ti.sans, "DNS:bridge.example, IP:127.0.0.1");
        assert_string_equal(ti.serial, "03e9");
        assert_int_equal(ti.chain, 2);
        int64_t now = pb_now_ms() / 1000;
        assert_true(ti.not_after > now + 2 * 86400 && ti.not_after <= now + 3 * 86400 + 60);
}

static void test_refusals(void **state)
{
        (void)state;
        char err[PB_ERRSZ];
        pb_tls_info_t ti;
        assert_int_equal(pb_tls_check(path("chain1.pem"), path("s2.key"), &ti, err, sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "is not the key of"));
        sh("head -c 300 %s > %s", path("s1.pem"), path("cut.pem"));
        assert_int_equal(pb_tls_check(path("cut.pem"), path("s1.key"), &ti, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "not a PEM certificate"));
        sh(": > %s", path("empty.pem"));
        assert_int_equal(pb_tls_check(path("empty.pem"), path("s1.key"), &ti, err, sizeof(err)),
                         -1);
        assert_int_equal(pb_tls_check(path("chain1.pem"), path("s1.pem"), &ti, err, sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "not a PEM private key"));
        assert_int_equal(pb_tls_check(dir, path("s1.key"), &ti, err, sizeof(err)), -1);
        assert_int_equal(pb_tls_check(path("none.pem"), path("s1.key"), &ti, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "cannot read the certificate file"));
        /* Never the key's text in a reason. */
        assert_null(strstr(err, "PRIVATE KEY"));
}

static void test_reload_keeps_the_old_pair(void **state)
{
        (void)state;
        char err[PB_ERRSZ];
        sh("cp %s %s && cp %s %s", path("chain1.pem"), path("live.pem"), path("s1.key"),
           path("live.key"));
        pb_tls_t *t = pb_tls_new(path("live.pem"), path("live.key"), err, sizeof(err));
        assert_non_null(t);
        assert_non_null(pb_tls_cert_callback());
        pb_tls_info_t ti;
        sh("cp %s %s", path("chain2.pem"), path("live.pem")); /* the key is still 1's */
        assert_int_equal(pb_tls_reload(t, err, sizeof(err)), -1);
        pb_tls_info(t, &ti);
        assert_string_equal(ti.serial, "03e9");
        sh("cp %s %s", path("s2.key"), path("live.key"));
        assert_int_equal(pb_tls_reload(t, err, sizeof(err)), 0);
        pb_tls_info(t, &ti);
        assert_string_equal(ti.serial, "03ea");
        /* The watch: the files replaced above are seen once; then unchanged
         * files are unchanged, and replaced ones seen once again. */
        assert_int_equal(pb_tls_changed(t), 1);
        assert_int_equal(pb_tls_changed(t), 0);
        sh("cp %s %s.tmp && mv %s.tmp %s", path("chain1.pem"), path("live.pem"), path("live.pem"),
           path("live.pem"));
        assert_int_equal(pb_tls_changed(t), 1);
        assert_int_equal(pb_tls_changed(t), 0);
        sh("cp %s %s", path("chain2.pem"), path("live.pem"));
        /* The old pairs are kept for handshakes under way, within a bound. */
        int refused = 0;
        for (int i = 0; i < 20 && !refused; i++)
                refused = pb_tls_reload(t, err, sizeof(err)) != 0;
        assert_true(refused);
        assert_non_null(strstr(err, "reloads within"));
        pb_tls_free(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_load_and_describe),
            cmocka_unit_test(test_refusals),
            cmocka_unit_test(test_reload_keeps_the_old_pair),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

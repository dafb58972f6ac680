/* kafka_conf.c: the configuration every librdkafka client of the bridge shares. */
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

#include "config.h"
#include "kafka_conf.h"
#include "testutil.h"

/* A config whose kafka.properties is the one given line. */
static pb_config_t *with_prop(const char *prop, char *err, size_t errsz)
{
        char text[1024];
        snprintf(text, sizeof(text),
                 "kafka = { brokers = \"127.0.0.1:1\"; properties = ( \"%s\" ); };\n", prop);
        return pb_config_load(tu_write_temp(text), tu_env_lookup, err, errsz);
}

static void conf_value(rd_kafka_conf_t *conf, const char *k, char *v, size_t vsz)
{
        assert_int_equal(rd_kafka_conf_get(conf, k, v, &vsz), RD_KAFKA_CONF_OK);
}

static void test_secret_from_file(void **state)
{
        (void)state;
        char err[512], prop[256], v[256];
        const char *pw = "/tmp/pb-kafka-test-pw";
        FILE *f = fopen(pw, "w");
        assert_non_null(f);
        fputs("s3cret pass\n", f);
        fclose(f);
        snprintf(prop, sizeof(prop), "sasl.password.file=%s", pw);
        pb_config_t *cfg = with_prop(prop, err, sizeof(err));
        assert_non_null(cfg);
        rd_kafka_conf_t *conf = pb_kafka_conf(cfg, 1, err, sizeof(err));
        assert_non_null(conf);
        conf_value(conf, "sasl.password", v, sizeof(v));
        assert_string_equal(v, "s3cret pass"); /* the trailing newline dropped, spaces kept */
        rd_kafka_conf_destroy(conf);
        assert_true(pb_kafka_is_secret_file_property("sasl.password.file"));
        assert_true(pb_kafka_is_secret_file_property("sasl.oauthbearer.client.secret.file"));
        assert_false(pb_kafka_is_secret_file_property("sasl.username.file"));
        assert_false(pb_kafka_is_secret_file_property("sasl.password"));
        /* Paths are printed, secrets are not. */
        assert_false(pb_config_is_secret_property("ssl.key.location"));
        assert_false(pb_config_is_secret_property("sasl.password.file"));
        assert_true(pb_config_is_secret_property("sasl.password"));
        assert_true(pb_config_is_secret_property("ssl.key.pem"));
        pb_config_free(cfg);
        unlink(pw);
}

/* Each bad secret file is a configuration error that names the property
 * and the path, never an empty or partial secret. */
static void test_bad_secret_files(void **state)
{
        (void)state;
        char err[512], prop[256];
        char dir[] = "/tmp/pb-kafka-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char fifo[64], empty[64], newline[64];
        snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        /* (tu_write_temp() reuses one path, and with_prop() writes it too) */
        snprintf(empty, sizeof(empty), "%s/empty", dir);
        snprintf(newline, sizeof(newline), "%s/newline", dir);
        FILE *f = fopen(empty, "w");
        fclose(f);
        f = fopen(newline, "w");
        fputs("\n", f);
        fclose(f);
        const char *cases[][2] = {
            {"/nonexistent/pw", "No such file"},
            {dir, "not a regular file"},
            {fifo, "not a regular file"}, /* opened without waiting for a writer */
            {empty, "is empty"},
            {newline, "is empty"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                snprintf(prop, sizeof(prop), "sasl.password.file=%s", cases[i][0]);
                pb_config_t *cfg = with_prop(prop, err, sizeof(err));
                assert_non_null(cfg);
                err[0] = '\0';
                assert_null(pb_kafka_conf(cfg, 1, err, sizeof(err)));
                assert_non_null(strstr(err, "sasl.password.file"));
                if (!strstr(err, cases[i][1]))
                        fail_msg("%s: \"%s\" lacks \"%s\"", cases[i][0], err, cases[i][1]);
                pb_config_free(cfg);
        }
        unlink(fifo);
        unlink(empty);
        unlink(newline);
        rmdir(dir);
}

/* OpenSSL says "x509 certificate routines::system lib" for a missing CA
 * file; the bridge names the property and the file. */
static void test_missing_certificate_named(void **state)
{
        (void)state;
        char err[512];
        const char *props[] = {"ssl.ca.location=/nonexistent/ca.pem",
                               "ssl.certificate.location=/nonexistent/c.pem",
                               "ssl.key.location=/nonexistent/k.pem"};
        for (size_t i = 0; i < 3; i++) {
                pb_config_t *cfg = with_prop(props[i], err, sizeof(err));
                assert_non_null(cfg);
                assert_null(pb_kafka_conf(cfg, 1, err, sizeof(err)));
                assert_non_null(strstr(err, "/nonexistent/"));
                assert_non_null(strstr(err, "No such file"));
                pb_config_free(cfg);
        }
        pb_config_t *cfg = with_prop("ssl.ca.location=probe", err, sizeof(err));
        rd_kafka_conf_t *conf = pb_kafka_conf(cfg, 1, err, sizeof(err));
        assert_non_null(conf); /* librdkafka's own search of the usual places */
        rd_kafka_conf_destroy(conf);
        pb_config_free(cfg);
}

static void test_describe(void **state)
{
        (void)state;
        char buf[640];
        pb_kafka_describe(buf, sizeof(buf));
        assert_non_null(strstr(buf, rd_kafka_version_str()));
        assert_non_null(strstr(buf, "sasl_scram"));
        assert_true(rd_kafka_version() >= 0x020601ff); /* SCRAM to Kafka 4 */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_secret_from_file),
            cmocka_unit_test(test_bad_secret_files),
            cmocka_unit_test(test_missing_certificate_named),
            cmocka_unit_test(test_describe),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

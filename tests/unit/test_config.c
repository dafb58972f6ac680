#define _GNU_SOURCE /* open_memstream */
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

#include <json-c/json.h>

#include "config.h"
#include "privacy.h"
#include "testutil.h"

static pb_config_t *load_text(const char *text, char *err, size_t errsz)
{
        const char *path = tu_write_temp(text);
        pb_config_t *cfg = pb_config_load(path, tu_env_lookup, err, errsz);
        unlink(path);
        return cfg;
}

static void expect_error(const char *text, const char *frag1, const char *frag2)
{
        char err[512] = "";
        pb_config_t *cfg = load_text(text, err, sizeof(err));
        if (cfg)
                fail_msg("accepted: %s", text);
        if (!strstr(err, frag1) || (frag2 && !strstr(err, frag2)))
                fail_msg("error \"%s\" lacks \"%s\"/\"%s\"", err, frag1, frag2 ? frag2 : "");
}

static char *print_to_string(const pb_config_t *cfg)
{
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        pb_config_print(cfg, f);
        fclose(f);
        return buf;
}

static int teardown(void **state)
{
        (void)state;
        tu_clearenv();
        return 0;
}

static void test_defaults(void **state)
{
        (void)state;
        char err[512];
        pb_config_t *cfg = pb_config_load(NULL, tu_env_lookup, err, sizeof(err));
        assert_non_null(cfg);
        assert_string_equal(cfg->kafka_brokers, "127.0.0.1:9092");
        assert_string_equal(cfg->topic_event[PB_ET_status_changed],
                            "telnyx.portouts.status-changed");
        assert_string_equal(cfg->topic_event[PB_ET_foc_date_changed],
                            "telnyx.portouts.foc-date-changed");
        assert_string_equal(cfg->topic_event[PB_ET_new_comment], "telnyx.portouts.new-comment");
        assert_string_equal(cfg->topic_other, "telnyx.portouts.other");
        assert_string_equal(cfg->topic_dead_letter, "telnyx.portouts.dlq");
        assert_int_equal(cfg->kafka_flush_timeout_ms, 30000);
        assert_int_equal(cfg->input_max_event_bytes, 524288);
        assert_int_equal(cfg->kafka_props_cnt, 0);
        assert_null(cfg->telnyx_api_key);
        pb_config_free(cfg);
}

static void test_values_and_env(void **state)
{
        (void)state;
        tu_setenv("BROKERS", "k1:9092,k2:9092");
        tu_setenv("FLUSH", "1500");
        tu_setenv("PW", "hunter2");
        char err[512];
        pb_config_t *cfg =
            load_text("log = { level = \"debug\"; };\n"
                      "kafka = {\n"
                      "  brokers = \"${BROKERS}\";\n"
                      "  flush_timeout_ms = \"${FLUSH}\";\n"
                      "  properties = ( \"sasl.password=${PW}\", \"linger.ms=20\" );\n"
                      "};\n"
                      "topics = { other = \"${TOPIC:-misc}\"; };\n",
                      err, sizeof(err));
        if (!cfg)
                fail_msg("%s", err);
        assert_int_equal(cfg->log_level, 3);
        assert_string_equal(cfg->kafka_brokers, "k1:9092,k2:9092");
        assert_int_equal(cfg->kafka_flush_timeout_ms, 1500);
        assert_string_equal(cfg->topic_other, "misc");
        assert_int_equal(cfg->kafka_props_cnt, 2);
        assert_string_equal(cfg->kafka_props[0].key, "sasl.password");
        assert_string_equal(cfg->kafka_props[0].value, "hunter2");
        assert_int_equal(cfg->kafka_props[0].line, 5);
        char *printed = print_to_string(cfg);
        assert_null(strstr(printed, "hunter2"));
        assert_non_null(strstr(printed, "sasl.password=<redacted>"));
        assert_non_null(strstr(printed, "linger.ms=20"));
        free(printed);
        pb_config_free(cfg);
}

static void test_errors_name_file_line_key(void **state)
{
        (void)state;
        expect_error("kafka = {\n  brokerz = \"x\";\n};\n", ":2: kafka.brokerz: unknown key", NULL);
        expect_error("nope = 1;\n", ":1: nope: unknown key", NULL);
        expect_error("kafka = {\n\n  brokers = 5;\n};\n", ":3: kafka.brokers",
                     "expected a string, got an integer");
        expect_error("kafka = { flush_timeout_ms = 1.5; };\n", "kafka.flush_timeout_ms",
                     "expected an integer, got a float");
        expect_error("kafka = { flush_timeout_ms = -1; };\n", "kafka.flush_timeout_ms",
                     "out of range");
        expect_error("kafka = { flush_timeout_ms = \"soon\"; };\n", "kafka.flush_timeout_ms",
                     "not an integer");
        expect_error("log = { level = \"loud\"; };\n", "log.level", "not one of: error, warn");
        expect_error("topics = { status_changed = \"\"; };\n", "topics.status_changed",
                     "must not be empty");
        expect_error("kafka = { brokers = \"${NOPE}\"; };\n", "kafka.brokers", "NOPE is not set");
        expect_error("kafka = { properties = ( \"linger.ms\" ); };\n", "kafka.properties",
                     "must be \"name=value\"");
        expect_error("kafka = { properties = ( 5 ); };\n", "kafka.properties",
                     "must be a \"name=value\" string");
        expect_error("kafka = { properties = \"a=b\"; };\n", "kafka.properties", "expected a list");
        expect_error("kafka = {\n  brokers = \"x\"\n", ":3: syntax error", NULL);
        expect_error("kafka = { brokers = { a = 1; }; };\n", "kafka.brokers",
                     "expected a string, got a group");
        /* A long value is shown cut and escaped: the reason stays in the
         * message (found by fuzz_config: 600 bytes of value filled it). */
        char text[1200] = "log = { level = \"";
        for (int i = 0; i < 100; i++)
                strcat(text, "bad\\nvalue");
        strcat(text, "\"; };\n");
        expect_error(text, "log.level: \"bad\\x0avaluebad", "...\" is not one of: error, warn");
        char err[512];
        assert_null(pb_config_load("/nonexistent/pb.conf", tu_env_lookup, err, sizeof(err)));
        assert_non_null(strstr(err, "/nonexistent/pb.conf: cannot read"));
}

static void test_secrets(void **state)
{
        (void)state;
        char err[512];
        const char *kpath = tu_write_temp("KEYFROMFILE\n");
        char keyfile[64];
        snprintf(keyfile, sizeof(keyfile), "%s", kpath);
        char text[256];
        snprintf(text, sizeof(text), "telnyx = { api_key_file = \"%s\"; };\n", keyfile);

        pb_config_t *cfg = load_text(text, err, sizeof(err));
        if (!cfg)
                fail_msg("%s", err);
        assert_string_equal(cfg->telnyx_api_key, "KEYFROMFILE"); /* newline trimmed */
        char *printed = print_to_string(cfg);
        assert_null(strstr(printed, "KEYFROMFILE"));
        assert_non_null(strstr(printed, "<redacted>"));
        free(printed);
        pb_config_free(cfg);

        tu_setenv("TELNYX_API_KEY", "KEYFROMENV");
        cfg = load_text(text, err, sizeof(err));
        assert_non_null(cfg);
        assert_string_equal(cfg->telnyx_api_key, "KEYFROMENV"); /* environment wins */
        printed = print_to_string(cfg);
        assert_null(strstr(printed, "KEYFROMENV"));
        free(printed);
        pb_config_free(cfg);
        tu_clearenv();
        unlink(keyfile);

        expect_error(text, "telnyx.api_key_file", "cannot read secret file");
}

/* Odd files are errors that say why, never a hang or a minute of parsing:
 * a directory, a FIFO (opened without waiting for a writer), a file over
 * PB_CONFIG_MAX_BYTES; a secret file that is a directory. */
static void test_odd_files(void **state)
{
        (void)state;
        char err[512], dir[] = "/tmp/pb-cfg-XXXXXX", fifo[64], big[64];
        assert_non_null(mkdtemp(dir));
        snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
        snprintf(big, sizeof(big), "%s/big.conf", dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        FILE *f = fopen(big, "w");
        fputs("envelope = { source = \"", f);
        for (size_t i = 0; i < PB_CONFIG_MAX_BYTES / 64 + 1; i++)
                fputs("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", f);
        fputs("\"; };\n", f);
        fclose(f);
        struct {
                const char *path, *want;
        } cases[] = {
            {dir, "not a regular file (a directory)"},
            {fifo, "not a regular file"},
            {big, "larger than"},
        };
        for (size_t i = 0; i < 3; i++) {
                err[0] = '\0';
                assert_null(pb_config_load(cases[i].path, tu_env_lookup, err, sizeof(err)));
                if (!strstr(err, cases[i].want) || !strstr(err, cases[i].path))
                        fail_msg("%s: \"%s\"", cases[i].path, err);
        }
        /* An @include is checked as the main file is (libconfig reads it
         * itself): a FIFO would hang the load, a directory, a NUL byte or a
         * huge file would reach libconfig unchecked. */
        char inc[64], nul[64], text[256];
        snprintf(inc, sizeof(inc), "%s/main.conf", dir);
        snprintf(nul, sizeof(nul), "%s/nul.conf", dir);
        f = fopen(nul, "w");
        fputs("log = { level = \"info\"; };\n", f);
        fputc(0, f);
        fclose(f);
        struct {
                const char *included, *want;
        } incs[] = {{"fifo", "not a regular file"},
                    {".", "a directory"},
                    {"big.conf", "larger than"},
                    {"nul.conf", "NUL byte"},
                    {"missing.conf", "No such file"}};
        for (size_t i = 0; i < sizeof(incs) / sizeof(incs[0]); i++) {
                f = fopen(inc, "w");
                fprintf(f, "# main\n  @include \"%s\"\n", incs[i].included);
                fclose(f);
                err[0] = '\0';
                assert_null(pb_config_load(inc, tu_env_lookup, err, sizeof(err)));
                if (!strstr(err, incs[i].want) || !strstr(err, "@include"))
                        fail_msg("@include %s: \"%s\"", incs[i].included, err);
        }
        f = fopen(inc, "w"); /* and one that is fine is read */
        fputs("@include \"ok.conf\"\n", f);
        fclose(f);
        snprintf(nul, sizeof(nul), "%s/ok.conf", dir);
        f = fopen(nul, "w");
        fputs("envelope = { source = \"https://example.org/included\"; };\n", f);
        fclose(f);
        pb_config_t *ok = pb_config_load(inc, tu_env_lookup, err, sizeof(err));
        if (!ok)
                fail_msg("a good @include: %s", err);
        assert_string_equal(ok->envelope_source, "https://example.org/included");
        pb_config_free(ok);
        unlink(nul);
        snprintf(nul, sizeof(nul), "%s/nul.conf", dir);
        unlink(nul);
        unlink(inc);
        snprintf(text, sizeof(text), "telnyx = { api_key_file = \"%s\"; };\n", dir);
        assert_null(pb_config_load(tu_write_temp(text), tu_env_lookup, err, sizeof(err)));
        assert_non_null(strstr(err, "telnyx.api_key_file"));
        assert_non_null(strstr(err, "a directory"));
        unlink(fifo);
        unlink(big);
        rmdir(dir);
}

/* The PIN of the event's payload after the configuration's policy: its
 * value, "hashed", or NULL when dropped. */
static const char *pin_after(const pb_config_t *cfg)
{
        static char out[16];
        json_object *d = json_tokener_parse("{\"payload\":{\"attempted_pin\":\"4711\","
                                            "\"subscriber_name\":\"Jo\",\"status\":\"s\"}}");
        pb_privacy_apply(cfg->privacy, d);
        json_object *pl = json_object_object_get(d, "payload"), *v;
        const char *r = NULL;
        if (json_object_object_get_ex(pl, "attempted_pin", &v)) {
                const char *s = json_object_get_string(v);
                snprintf(out, sizeof(out), "%s", strncmp(s, "hmac-sha256:", 12) ? s : "hashed");
                r = out;
        }
        json_object_put(d);
        return r;
}

/* The port-out PIN is a credential: by default it goes nowhere. Only the
 * operator naming it (privacy.hash, or privacy.publish_pin_in_clear) lets
 * it out, and asking both ways is refused. */
static void test_pin_dropped_by_default(void **state)
{
        (void)state;
        char err[512];
        pb_config_t *cfg = pb_config_load(NULL, tu_env_lookup, err, sizeof(err));
        assert_non_null(cfg);
        assert_null(pin_after(cfg)); /* no configuration at all */
        pb_config_free(cfg);
        cfg = load_text("privacy = { drop = \"payload.subscriber_name\"; };\n", err, sizeof(err));
        assert_non_null(cfg);
        assert_null(pin_after(cfg)); /* another drop list keeps the PIN's */
        pb_config_free(cfg);
        tu_setenv("PORTOUT_BRIDGE_HASH_KEY", "0123456789abcdef0123");
        cfg = load_text("privacy = { hash = \"payload.attempted_pin\"; };\n", err, sizeof(err));
        assert_non_null(cfg);
        assert_string_equal(pin_after(cfg), "hashed");
        pb_config_free(cfg);
        cfg = load_text("privacy = { publish_pin_in_clear = true; };\n", err, sizeof(err));
        assert_non_null(cfg);
        assert_string_equal(pin_after(cfg), "4711");
        pb_config_free(cfg);
        expect_error(
            "privacy = { publish_pin_in_clear = true; hash = \"payload.attempted_pin\"; };\n",
            "publish_pin_in_clear", "choose one");
        /* The shipped example changes none of this. */
        cfg = pb_config_load(PB_SOURCE_DIR "/conf/portout-bridge.conf", tu_env_lookup, err,
                             sizeof(err));
        if (!cfg)
                fail_msg("conf/portout-bridge.conf: %s", err);
        assert_null(pin_after(cfg));
        pb_config_free(cfg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_teardown(test_defaults, teardown),
            cmocka_unit_test_teardown(test_values_and_env, teardown),
            cmocka_unit_test_teardown(test_errors_name_file_line_key, teardown),
            cmocka_unit_test_teardown(test_secrets, teardown),
            cmocka_unit_test_teardown(test_odd_files, teardown),
            cmocka_unit_test_teardown(test_pin_dropped_by_default, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

#define _GNU_SOURCE /* open_memstream */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "config_doc.h"
#include "kafka_conf.h"
#include "testutil.h"

static int teardown(void **state)
{
        (void)state;
        tu_clearenv();
        return 0;
}

/* What print writes, as a string the caller frees. */
static char *printed(void (*print)(FILE *))
{
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        assert_non_null(f);
        print(f);
        fclose(f);
        return buf;
}

/* The example in conf/ is generated from the table: it cannot drift. */
static void test_example_matches_table(void **state)
{
        (void)state;
        char *buf = printed(pb_config_print_example);
        size_t flen;
        char *file = tu_read_file(PB_SOURCE_DIR "/conf/portout-bridge.conf", &flen);
        if (strcmp(buf, file) != 0)
                fail_msg("conf/portout-bridge.conf is stale: regenerate it with "
                         "`portout-bridge check-config --example > conf/portout-bridge.conf`");
        free(file);

        /* And it loads as-is. */
        char err[512];
        pb_config_t *cfg = pb_config_load(PB_SOURCE_DIR "/conf/portout-bridge.conf", tu_env_lookup,
                                          err, sizeof(err));
        if (!cfg)
                fail_msg("%s", err);
        assert_string_equal(cfg->kafka_brokers, "127.0.0.1:9092");
        assert_int_equal(cfg->kafka_props_cnt, 2);
        assert_string_equal(cfg->kafka_props[0].key, "compression.type");
        assert_string_equal(cfg->kafka_props[0].value, "lz4");
        pb_config_free(cfg);
        free(buf);
}

/* The documented producer defaults are the ones applied (kafka_conf.c's table). */
static void test_reference_lists_every_producer_default(void **state)
{
        (void)state;
        char *buf = printed(pb_config_print_reference);
        size_t nd;
        const char *const(*d)[2] = pb_kafka_producer_defaults(&nd);
        assert_true(nd > 0);
        for (size_t i = 0; i < nd; i++) {
                char kv[128];
                snprintf(kv, sizeof(kv), "%s=%s", d[i][0], d[i][1]);
                if (!strstr(buf, kv))
                        fail_msg("kafka.properties' help does not list the default %s", kv);
        }
        free(buf);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_teardown(test_example_matches_table, teardown),
            cmocka_unit_test(test_reference_lists_every_producer_default),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

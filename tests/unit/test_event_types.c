/* event_types.c: the table of known event types, and what is derived from
 * it: one topic option each (with its default), the route, and where the
 * normalizer finds the port-out id. A new row must pass these unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "config_table.h"
#include "event_types.h"
#include "normalize.h"
#include "publish.h"
#include "testutil.h"

static void test_rows_are_consistent(void **state)
{
        (void)state;
        for (size_t i = 0; i < PB_ET_COUNT; i++) {
                const pb_event_type_t *t = &pb_event_types[i];
                char want[160];
                snprintf(want, sizeof(want), "portout.%s", t->name);
                assert_string_equal(t->telnyx, want);
                snprintf(want, sizeof(want), "com.telnyx.%s", t->telnyx);
                assert_string_equal(t->ce_type, want);
                assert_ptr_equal(pb_event_type_find(t->telnyx), t);
        }
        assert_null(pb_event_type_find("portout.something_new"));
        assert_null(pb_event_type_find(""));
}

/* Every row has its option, its own default topic, and routes there. */
static void test_each_row_has_an_option_and_a_route(void **state)
{
        (void)state;
        char err[PB_ERRSZ];
        pb_config_t *cfg = pb_config_load(tu_write_temp(""), tu_env_lookup, err, sizeof(err));
        if (!cfg)
                fail_msg("%s", err);
        const char *topics[PB_CONFIG_TOPICS];
        pb_config_topics(cfg, topics);
        for (size_t i = 0; i < PB_ET_COUNT; i++) {
                char name[64];
                snprintf(name, sizeof(name), "topics.%s", pb_event_types[i].name);
                size_t k = 0;
                while (k < pb_options_n && strcmp(pb_options[k].name, name) != 0)
                        k++;
                assert_true(k < pb_options_n);
                assert_string_equal(pb_publish_route(cfg, pb_event_types[i].telnyx),
                                    cfg->topic_event[i]);
                assert_string_equal(topics[i], cfg->topic_event[i]);
                for (size_t j = 0; j < i; j++) /* each its own topic by default */
                        assert_string_not_equal(cfg->topic_event[j], cfg->topic_event[i]);
        }
        assert_string_equal(topics[PB_CONFIG_TOPICS - 1], cfg->topic_dead_letter);
        assert_string_equal(pb_publish_route(cfg, "portout.something_new"), cfg->topic_other);
        pb_config_free(cfg);
}

/* A webhook of each type finds its port-out id where its row says, and
 * gets its CloudEvents type. */
static void test_normalizer_follows_the_table(void **state)
{
        (void)state;
        for (size_t i = 0; i < PB_ET_COUNT; i++) {
                const pb_event_type_t *t = &pb_event_types[i];
                char doc[512];
                snprintf(doc, sizeof(doc),
                         "{\"data\":{\"event_type\":\"%s\",\"id\":\"e-1\",\"occurred_at\":"
                         "\"2026-03-05T12:30:45Z\",\"payload\":{\"%s\":\"po-%zu\"%s},"
                         "\"record_type\":\"event\"},\"meta\":{\"attempt\":1}}",
                         t->telnyx, t->id_field, i,
                         strcmp(t->id_field, "id") ? ",\"id\":\"not-the-portout\"" : "");
                pb_norm_opts_t no = {"src", NULL, NULL, 0};
                pb_ingest_t ing = {PB_INGEST_WEBHOOK, 1};
                pb_batch_t *b = pb_normalize(&no, doc, strlen(doc), &ing);
                assert_non_null(b);
                assert_int_equal(b->cnt, 1);
                assert_non_null(b->items[0].env);
                char want[16];
                snprintf(want, sizeof(want), "po-%zu", i);
                assert_string_equal(b->items[0].env->portout_id, want);
                assert_string_equal(b->items[0].env->type, t->ce_type);
                pb_batch_free(b);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rows_are_consistent),
            cmocka_unit_test(test_each_row_has_an_option_and_a_route),
            cmocka_unit_test(test_normalizer_follows_the_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

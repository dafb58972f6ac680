/* cmd_rest.c: fetch, backfill and republish against the fake Telnyx API
 * (tests/fake_telnyx, the documented contract): their arguments, what they
 * print, and their exit codes. Publishing is the integration tests'. */
#include <json-c/json.h>

#include "cmdtest.h"

static tu_fake_api_t api;
static char conf_path[256];

static int setup(void **state)
{
        (void)state;
        tu_fake_api_start(&api, "--events 5");
        char conf[512];
        snprintf(
            conf, sizeof(conf),
            "telnyx = { api_base = \"%s\"; max_retries = 0; };\nlog = { level = \"error\"; };\n",
            api.base);
        snprintf(conf_path, sizeof(conf_path), "%s", tu_write_temp(conf));
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        tu_fake_api_stop(&api);
        return 0;
}

/* The first event id the fake holds. */
static void first_id(char *out, size_t n)
{
        json_object *o = json_tokener_parse(tu_fake_api_admin(&api, "/_admin/ids", NULL)), *ids;
        assert_non_null(o);
        assert_true(json_object_object_get_ex(o, "ids", &ids));
        snprintf(out, n, "%s", json_object_get_string(json_object_array_get_idx(ids, 0)));
        json_object_put(o);
}

static void test_fetch(void **state)
{
        (void)state;
        char *out, *err, id[128], args[256];
        RUN(PB_EXIT_USAGE, pb_cmd_fetch, conf_path, "fetch");
        FREE_IO();
        RUN(PB_EXIT_USAGE, pb_cmd_fetch, conf_path, "fetch ../../v2/x");
        FREE_IO();
        first_id(id, sizeof(id));
        snprintf(args, sizeof(args), "fetch %s", id);
        setenv("TELNYX_API_KEY", "test-key", 1);
        RUN(0, pb_cmd_fetch, conf_path, args);
        json_object *env = json_tokener_parse(out);
        assert_non_null(env);
        json_object *v;
        assert_true(json_object_object_get_ex(env, "id", &v));
        assert_string_equal(json_object_get_string(v), id);
        assert_true(json_object_object_get_ex(env, "ingestpath", &v));
        assert_string_equal(json_object_get_string(v), "rest");
        json_object_put(env);
        FREE_IO();
        setenv("TELNYX_API_KEY", "test-key", 1);
        RUN(PB_EXIT_DATAERR, pb_cmd_fetch, conf_path, "fetch ffffffff-ffff-4fff-8fff-ffffffffffff");
        assert_has(err, "not found");
        FREE_IO();
        setenv("TELNYX_API_KEY", "wrong-key", 1);
        RUN(PB_EXIT_CONFIG, pb_cmd_fetch, conf_path, args);
        assert_has(err, "the API key was refused");
        assert_null(strstr(err, "wrong-key")); /* never printed */
        FREE_IO();
}

static void test_backfill(void **state)
{
        (void)state;
        char *out, *err;
        RUN(PB_EXIT_USAGE, pb_cmd_backfill, conf_path, "backfill --since yesterday");
        assert_has(err, "needs an RFC 3339 time");
        FREE_IO();
        RUN(PB_EXIT_USAGE, pb_cmd_backfill, conf_path, "backfill --fast");
        assert_has(err, "backfill: unexpected argument --fast");
        FREE_IO();
        setenv("TELNYX_API_KEY", "test-key", 1);
        RUN(0, pb_cmd_backfill, conf_path, "backfill --dry-run");
        size_t lines = 0;
        for (const char *p = out; (p = strchr(p, '\n')); p++)
                lines++;
        assert_int_equal(lines, 5); /* every event, as envelopes */
        assert_has(out, "\"specversion\":\"1.0\"");
        FREE_IO();
}

static void test_republish(void **state)
{
        (void)state;
        char *out, *err, id[128], args[256];
        RUN(PB_EXIT_USAGE, pb_cmd_republish, conf_path, "republish");
        FREE_IO();
        first_id(id, sizeof(id));
        snprintf(args, sizeof(args), "republish %s", id);
        setenv("TELNYX_API_KEY", "test-key", 1);
        RUN(0, pb_cmd_republish, conf_path, args);
        assert_has(out, "republish requested for ");
        assert_has(out, id);
        FREE_IO();
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fetch),
            cmocka_unit_test(test_backfill),
            cmocka_unit_test(test_republish),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "dedupe.h"

static void test_window(void **state)
{
        (void)state;
        pb_dedupe_t *d = pb_dedupe_new(3, 1000);
        assert_false(pb_dedupe_seen(d, "a", 0));
        pb_dedupe_add(d, "a", 0);
        assert_true(pb_dedupe_seen(d, "a", 999));
        assert_false(pb_dedupe_seen(d, "a", 1000)); /* expired */
        pb_dedupe_add(d, "b", 10);
        pb_dedupe_add(d, "c", 20);
        pb_dedupe_add(d, "d", 30); /* capacity 3: "a" goes */
        assert_int_equal(pb_dedupe_size(d), 3);
        assert_false(pb_dedupe_seen(d, "a", 40));
        assert_true(pb_dedupe_seen(d, "b", 40));
        assert_true(pb_dedupe_seen(d, "d", 40));
        pb_dedupe_add(d, "b", 50); /* refresh: "c" is now the oldest */
        pb_dedupe_add(d, "e", 60);
        assert_true(pb_dedupe_seen(d, "b", 60));
        assert_false(pb_dedupe_seen(d, "c", 60));
        pb_dedupe_add(d, "f", 2000); /* expired entries are dropped as new ones come */
        assert_int_equal(pb_dedupe_size(d), 1);
        pb_dedupe_free(d);
}

static void test_disabled_and_many(void **state)
{
        (void)state;
        pb_dedupe_t *off = pb_dedupe_new(0, 1000);
        pb_dedupe_add(off, "a", 0);
        assert_false(pb_dedupe_seen(off, "a", 1));
        pb_dedupe_free(off);

        pb_dedupe_t *d = pb_dedupe_new(10000, 60000);
        char id[32];
        for (int i = 0; i < 25000; i++) {
                snprintf(id, sizeof(id), "id-%d", i);
                pb_dedupe_add(d, id, i);
        }
        assert_int_equal(pb_dedupe_size(d), 10000);
        assert_false(pb_dedupe_seen(d, "id-14999", 25000));
        assert_true(pb_dedupe_seen(d, "id-15000", 25000));
        assert_true(pb_dedupe_seen(d, "id-24999", 25000));
        pb_dedupe_free(d);
}

/* The content hash tells a re-send (the same payload) from another payload
 * under the same id; an unknown hash (0) never conflicts. */
static void test_content(void **state)
{
        (void)state;
        pb_dedupe_t *d = pb_dedupe_new(10, 1000);
        assert_int_equal(pb_dedupe_seen_content(d, "a", 0, 7), 0);
        pb_dedupe_add_content(d, "a", 0, 7);
        assert_int_equal(pb_dedupe_seen_content(d, "a", 1, 7), 1);
        assert_int_equal(pb_dedupe_seen_content(d, "a", 1, 8), 2);
        assert_int_equal(pb_dedupe_seen_content(d, "a", 1, 0), 1);
        assert_int_equal(pb_dedupe_seen(d, "a", 1), 1);
        pb_dedupe_add(d, "b", 0); /* learned without content (from Kafka) */
        assert_int_equal(pb_dedupe_seen_content(d, "b", 1, 9), 1);
        pb_dedupe_add_content(d, "a", 2, 0); /* a refresh keeps the hash */
        assert_int_equal(pb_dedupe_seen_content(d, "a", 3, 8), 2);
        assert_int_equal(pb_dedupe_seen_content(d, "a", 2000, 8), 0); /* expired */
        pb_dedupe_free(d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_content),
            cmocka_unit_test(test_window),
            cmocka_unit_test(test_disabled_and_many),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

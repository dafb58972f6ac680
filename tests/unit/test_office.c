/* Office: a holder acts while the leader's term is the one it took office
 * in; it leaves when the leadership ends or is lost and regained (a new
 * term), and the fence is asked only when there is one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "office.h"

static uint64_t term_now;
static int fences;

static uint64_t leader(void *ctx)
{
        (void)ctx;
        return term_now;
}

static int fence(void *ctx, const char *topic, int32_t partition, int64_t offset, const char *meta,
                 char *errstr, size_t errsz)
{
        (void)ctx;
        (void)partition;
        (void)offset;
        (void)meta;
        fences++;
        if (strcmp(topic, "refused") != 0)
                return 0;
        strncpy(errstr, "ILLEGAL_GENERATION", errsz);
        return -1;
}

static void test_terms(void **state)
{
        (void)state;
        pb_office_t o;
        pb_office_init(&o, leader, fence, NULL);
        term_now = 0;
        assert_int_equal(pb_office_check(&o, 0), PB_OFFICE_NONE);
        assert_false(pb_office_held(&o));
        term_now = 3; /* elected: takes office in term 3 */
        assert_int_equal(pb_office_check(&o, 0), PB_OFFICE_ACT);
        assert_true(pb_office_held(&o));
        assert_int_equal(pb_office_check(&o, 1), PB_OFFICE_ACT);
        term_now = 4; /* lost and regained between two looks */
        assert_false(pb_office_held(&o));
        assert_int_equal(pb_office_check(&o, 1), PB_OFFICE_STALE);
        assert_non_null(strstr(pb_office_why(PB_OFFICE_STALE), "stale"));
        assert_int_equal(pb_office_check(&o, 0), PB_OFFICE_ACT); /* taken again, term 4 */
        assert_true(pb_office_held(&o));
        term_now = 0;
        assert_int_equal(pb_office_check(&o, 1), PB_OFFICE_NONE);
        assert_false(pb_office_held(&o));
}

static void test_fence_and_single_instance(void **state)
{
        (void)state;
        char err[64] = "";
        pb_office_t o;
        pb_office_init(&o, leader, fence, NULL);
        fences = 0;
        assert_int_equal(pb_office_fence(&o, "t", 0, 1, NULL, err, sizeof(err)), 0);
        assert_int_equal(pb_office_fence(&o, "refused", 0, 1, NULL, err, sizeof(err)), -1);
        assert_string_equal(err, "ILLEGAL_GENERATION");
        assert_int_equal(fences, 2);
        pb_office_t single; /* no election: always in office, no fence */
        pb_office_init(&single, NULL, NULL, NULL);
        assert_int_equal(pb_office_check(&single, 0), PB_OFFICE_ACT);
        assert_true(pb_office_held(&single));
        assert_int_equal(pb_office_fence(&single, "refused", 0, 1, NULL, err, sizeof(err)), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_terms),
            cmocka_unit_test(test_fence_and_single_instance),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

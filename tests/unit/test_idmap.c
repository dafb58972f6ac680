#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idmap.h"

struct rec {
        pb_idnode_t node;
        int value;
        char id[24];
};

static void test_add_get_del(void **state)
{
        (void)state;
        pb_idmap_t m;
        assert_int_equal(pb_idmap_init(&m, offsetof(struct rec, id)), 0);
        struct rec a = {.value = 1, .id = "a"}, b = {.value = 2, .id = "b"};
        assert_null(pb_idmap_get(&m, "a"));
        pb_idmap_add(&m, &a.node);
        pb_idmap_add(&m, &b.node);
        assert_ptr_equal(pb_idmap_get(&m, "a"), &a.node);
        assert_int_equal(((struct rec *)pb_idmap_get(&m, "b"))->value, 2);
        assert_int_equal(m.size, 2);
        pb_idmap_del(&m, &a.node);
        assert_null(pb_idmap_get(&m, "a"));
        pb_idmap_del(&m, &a.node); /* not held: no-op */
        struct rec other_b = {.id = "b"};
        pb_idmap_del(&m, &other_b.node); /* same id, another node: not held */
        assert_ptr_equal(pb_idmap_get(&m, "b"), &b.node);
        assert_int_equal(m.size, 1);
        pb_idmap_destroy(&m);
}

/* Many more nodes than the initial buckets: it grows and finds them all. */
static void test_growth(void **state)
{
        (void)state;
        enum { N = 20000 };
        struct rec *r = calloc(N, sizeof(*r));
        assert_non_null(r);
        pb_idmap_t m;
        assert_int_equal(pb_idmap_init(&m, offsetof(struct rec, id)), 0);
        for (int i = 0; i < N; i++) {
                r[i].value = i;
                snprintf(r[i].id, sizeof(r[i].id), "evt-%d", i);
                pb_idmap_add(&m, &r[i].node);
        }
        assert_true(m.nbuckets >= N);
        for (int i = 0; i < N; i += 7) {
                char id[24];
                snprintf(id, sizeof(id), "evt-%d", i);
                struct rec *got = (struct rec *)pb_idmap_get(&m, id);
                assert_non_null(got);
                assert_int_equal(got->value, i);
        }
        for (int i = 0; i < N; i += 2)
                pb_idmap_del(&m, &r[i].node);
        assert_int_equal(m.size, N / 2);
        assert_null(pb_idmap_get(&m, "evt-0"));
        assert_non_null(pb_idmap_get(&m, "evt-1"));
        pb_idmap_destroy(&m);
        free(r);
}

static size_t freed;

static void count_free(pb_idnode_t *n)
{
        freed++;
        free(n);
}

/* A map that owns its nodes frees them all with its buckets (ASan: no
 * leak, no double free). */
static void test_destroy_all(void **state)
{
        (void)state;
        pb_idmap_t m;
        assert_int_equal(pb_idmap_init(&m, offsetof(struct rec, id)), 0);
        for (int i = 0; i < 3000; i++) { /* past a doubling */
                struct rec *it = calloc(1, sizeof(*it));
                assert_non_null(it);
                snprintf(it->id, sizeof(it->id), "id-%d", i);
                pb_idmap_add(&m, &it->node);
        }
        freed = 0;
        pb_idmap_destroy_all(&m, count_free);
        assert_int_equal(freed, 3000);
        assert_null(m.buckets);
        assert_int_equal(pb_idmap_init(&m, offsetof(struct rec, id)), 0);
        pb_idmap_destroy_all(&m, NULL); /* empty */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_add_get_del),
            cmocka_unit_test(test_growth),
            cmocka_unit_test(test_destroy_all),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The poll election and its Kafka checkpoint against librdkafka's mock
 * cluster: one leader among members of the group, a take-over when it
 * leaves, and a checkpoint only the leader can commit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "config.h"
#include "metrics.h"
#include "mockkafka.h"
#include "pb.h"
#include "poll_election.h"
#include "testutil.h"

#define GROUP_CONF                                                                                 \
        "topics = { dead_letter = \"t.dlq\"; control = \"t.control\"; };\n"                        \
        "telnyx = { checkpoint_store = \"kafka\"; poll_group = \"g-test\";\n"                      \
        "           poll_session_timeout_ms = 3000; };\n"

static tm_cluster_t *cluster(void)
{
        tm_cluster_t *c = tm_cluster_new();
        /* The mock has no CreateTopics: the control topic is made here. */
        rd_kafka_mock_topic_create(c->mc, "t.control", 1, 1);
        return c;
}

static pb_election_t *member(pb_config_t *cfg, pb_metrics_t *m)
{
        char err[PB_ERRSZ];
        pb_election_t *e = pb_election_new(cfg, m, err, sizeof(err));
        if (!e)
                fail_msg("election: %s", err);
        return e;
}

/* Waits until exactly one of n members leads; returns its index. */
static int one_leader(pb_election_t **es, int n, int ms)
{
        int64_t until = pb_mono_ms() + ms;
        while (pb_mono_ms() < until) {
                int leaders = 0, who = -1;
                for (int i = 0; i < n; i++)
                        if (es[i] && pb_election_is_leader(es[i])) {
                                leaders++;
                                who = i;
                        }
                /* Two for a moment is possible: a member whose session ran
                 * out under load learns it lost the partition after the
                 * new owner got it (the broker fences its commits). */
                if (leaders == 1)
                        return who;
                pb_election_wait(es[0] ? es[0] : es[1], 100);
        }
        fail_msg("no single leader within %d ms", ms);
        return -1;
}

/* Commits as whichever member leads. Right after a change the group may
 * still be settling (the cooperative protocol rebalances twice): a commit
 * racing that is refused, and the poller's next poll commits again; so
 * here, for up to 45 s (on a loaded machine, heartbeats late against the
 * 3 s session keep the group rebalancing for a while: 15 s was once not
 * enough). Returns the leader that committed. */
static int commit_as_leader(pb_election_t **es, int64_t cp)
{
        char err[PB_ERRSZ] = "";
        int64_t until = pb_mono_ms() + 45000;
        while (pb_mono_ms() < until) {
                int l = one_leader(es, 3, 30000);
                if (pb_election_commit_checkpoint(es[l], cp, err, sizeof(err)) == 0)
                        return l;
                pb_election_wait(es[l], 200);
        }
        fail_msg("no leader could commit: %s", err);
        return -1;
}

static void test_single_member_leads_and_keeps_the_checkpoint(void **state)
{
        (void)state;
        tm_cluster_t *c = cluster();
        pb_config_t *cfg = tm_config(c, NULL, GROUP_CONF);
        pb_metrics_t *m = pb_metrics_new();
        pb_election_t *e = member(cfg, m);
        assert_true(pb_election_wait(e, 20000));
        assert_int_equal(pb_election_term(e), 1);
        char *text = pb_metrics_render(m, NULL);
        assert_non_null(strstr(text, "portout_bridge_poll_leader 1"));
        free(text);
        char err[PB_ERRSZ];
        int64_t us = -1;
        assert_int_equal(pb_election_read_checkpoint(e, &us, err, sizeof(err)), 0); /* none yet */
        int64_t cp = 1795839304823123;
        assert_int_equal(pb_election_commit_checkpoint(e, cp, err, sizeof(err)), 0);
        assert_int_equal(pb_election_read_checkpoint(e, &us, err, sizeof(err)), 1);
        assert_int_equal(us, cp);
        /* Read from outside the group (portout-bridge checkpoint): the same,
         * with who wrote it. */
        char meta[512];
        us = -1;
        assert_int_equal(
            pb_election_peek_checkpoint(cfg, &us, meta, sizeof(meta), err, sizeof(err)), 1);
        assert_int_equal(us, cp);
        assert_non_null(strstr(meta, "\"by\""));
        pb_election_free(e);
        pb_metrics_free(m);
        pb_config_free(cfg);
        tm_cluster_free(c);
}

/* Three members: one leads; the others cannot commit; when the leader
 * leaves, another leads, and reads the checkpoint the first committed. */
static void test_one_leader_and_take_over(void **state)
{
        (void)state;
        tm_cluster_t *c = cluster();
        pb_config_t *cfg = tm_config(c, NULL, GROUP_CONF);
        pb_election_t *es[3];
        for (int i = 0; i < 3; i++)
                es[i] = member(cfg, NULL);
        char err[PB_ERRSZ];
        int l = commit_as_leader(es, 1000000);
        for (int i = 0; i < 3; i++)
                if (i != l && !pb_election_is_leader(es[i])) {
                        err[0] = '\0';
                        assert_int_equal(
                            pb_election_commit_checkpoint(es[i], 2000000, err, sizeof(err)), -1);
                        assert_string_not_equal(err, "");
                }
        pb_election_free(es[l]);
        es[l] = NULL;
        int l2 = one_leader(es, 3, 30000);
        assert_int_not_equal(l2, l);
        /* The new leader reads what the first committed. A read racing the
         * group's second rebalance (the cooperative protocol's) fails, and
         * the poller's next poll reads again: so here, for up to 30 s (a
         * loaded image build once failed the single read). */
        int64_t us = 0, until = pb_mono_ms() + 30000;
        int rc;
        while ((rc = pb_election_read_checkpoint(es[l2], &us, err, sizeof(err))) != 1 &&
               pb_mono_ms() < until) {
                pb_election_wait(es[l2], 200);
                l2 = one_leader(es, 3, 30000);
        }
        if (rc != 1)
                fail_msg("the new leader could not read the checkpoint: %s", err);
        assert_int_equal(us, 1000000);
        l2 = commit_as_leader(es, 3000000);
        assert_int_not_equal(l2, l);
        for (int i = 0; i < 3; i++)
                if (es[i])
                        pb_election_free(es[i]);
        pb_config_free(cfg);
        tm_cluster_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_single_member_leads_and_keeps_the_checkpoint),
            cmocka_unit_test(test_one_leader_and_take_over),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* libFuzzer target: the normalizer, bytes in. Invariants: exactly one of an
 * envelope or a reason per item; every envelope (and its data, the value in
 * binary mode) is strict JSON in UTF-8 whose numbers are the input's own
 * text; an input the scanner passes is never rejected for its text, and one
 * it refuses never becomes an envelope. A dead letter's bytes under a privacy
 * policy (pb_privacy_redact_doc) are a JSON object, and a second pass changes
 * nothing; scrubbed (pb_privacy_scrub, what leaves as a dead letter), they
 * hold no value the policy names (a second scrub finds none), they are still
 * JSON where the input was, and a batch normalized under the policy gives
 * its rejections only such bytes. The common case read from the text's
 * spans and the json-c path give the same bytes, with and without a policy.
 * Built by scripts/fuzz.sh with clang. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "jsoncheck.h"
#include "normalize.h"
#include "privacy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The text's own spans (the common case) and json-c's tree give the same
 * items, byte for byte: envelopes, reasons and dead-letter bytes. */
static void same_both_ways(const pb_norm_opts_t *opts, const char *body, size_t size,
                           const pb_ingest_t *ing)
{
        pb_norm_opts_t tree = *opts;
        tree.tree_only = 1;
        pb_batch_t *a = pb_normalize(opts, body, size, ing);
        pb_batch_t *t = pb_normalize(&tree, body, size, ing);
        if (!a || !t) {
                pb_batch_free(a);
                pb_batch_free(t);
                return; /* out of memory */
        }
        fz_same_items(a, t, 1);
        pb_batch_free(a);
        pb_batch_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *body = (const char *)data;
        pb_norm_opts_t opts = {"https://api.telnyx.com/v2/portouts", NULL, NULL, 0};
        pb_ingest_t ing = {PB_INGEST_WEBHOOK, 1772713845000000};
        pb_batch_t *b = pb_normalize(&opts, body, size, &ing);
        if (!b)
                return 0; /* out of memory */
        pb_jcheck_t jc;
        memset(&jc, 0, sizeof(jc));
        int chk = pb_json_check(body, size, &jc);
        for (size_t i = 0; i < b->cnt; i++) {
                const pb_norm_item_t *it = &b->items[i];
                if ((it->env == NULL) == (it->error == NULL))
                        abort();
                if (!pb_utf8_valid(it->error ? it->error : "", it->error ? strlen(it->error) : 0))
                        abort(); /* reasons reach logs, headers and answers */
                if (!it->env)
                        continue;
                if (chk < 0)
                        abort(); /* not JSON, yet published */
                const pb_envelope_t *e = it->env;
                fz_check_output(body, size, e->json, e->json_len);
                fz_check_output(body, size, e->json + e->data_off, e->data_len);
                if (!pb_utf8_valid(e->id, strlen(e->id)) ||
                    !pb_utf8_valid(e->portout_id, strlen(e->portout_id)))
                        abort(); /* they become Kafka keys and headers */
        }
        /* One document that passed the scan is not rejected as invalid text. */
        if (chk == 0 && b->cnt == 1 && b->items[0].error &&
            strstr(b->items[0].error, "not valid JSON"))
                abort();
        static pb_privacy_t *pv;
        if (!pv)
                pv = pb_privacy_new("payload.spid", "payload.attempted_pin,payload.status",
                                    "0123456789abcdef", 16, NULL, 0);
        size_t rn = 0, rn2 = 0;
        char *r = pb_privacy_redact_doc(pv, body, size, &rn);
        if (r) {
                json_object *o = json_tokener_parse(r);
                if (!json_object_is_type(o, json_type_object) || strlen(r) != rn)
                        abort();
                json_object_put(o);
                char *again = pb_privacy_redact_doc(pv, r, rn, &rn2);
                if (again)
                        abort(); /* applying the policy twice changed more */
                free(r);
        }
        char *s = NULL, *s2 = NULL;
        size_t sn = 0, sn2 = 0;
        int src = pb_privacy_scrub(pv, body, size, &s, &sn);
        if (src > 0) {
                pb_jcheck_t sj;
                memset(&sj, 0, sizeof(sj));
                if (pb_privacy_scrub(pv, s, sn, &s2, &sn2) != 0)
                        abort(); /* a named value left behind */
                if (chk >= 0 && pb_json_check(s, sn, &sj) < 0)
                        abort(); /* JSON syntax turned into something else */
                pb_jcheck_free(&sj);
                free(s);
        }
        pb_norm_opts_t popts = {"https://api.telnyx.com/v2/portouts", NULL, pv, 0};
        same_both_ways(&opts, body, size, &ing);
        same_both_ways(&popts, body, size, &ing);
        pb_batch_t *pb = pb_normalize(&popts, body, size, &ing);
        for (size_t i = 0; pb && i < pb->cnt; i++)
                if (!pb->items[i].env &&
                    pb_privacy_scrub(pv, pb->items[i].raw, pb->items[i].raw_len, &s2, &sn2) != 0)
                        abort(); /* a rejection would leave with a named value */
        pb_batch_free(pb);
        pb_jcheck_free(&jc);
        pb_batch_free(b);
        return 0;
}

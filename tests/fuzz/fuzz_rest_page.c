/* libFuzzer target: a REST list page as Telnyx (or a proxy, or an attacker
 * in between) may send it. Invariants: the scanner's element spans lie in the
 * page, in order, without overlap, each a JSON value on its own; a page
 * normalizes to one item per element (or one for the whole page), every
 * envelope strict JSON with the input's own numbers; the error-body parser
 * gives back a bounded, control-free, UTF-8 message. Memory per input byte:
 * reading an answer (pb_json_parse, as the client does) never makes json-c
 * hold more than the bound it was given, measured by the allocator itself,
 * and a refused answer costs no more than the scan. A page the client reads
 * normalizes, from its tree and bytes as a backfill does, to the items
 * pb_normalize gives its bytes. Built by
 * scripts/fuzz.sh with clang. */
#include <json-c/json.h>
#include <sanitizer/allocator_interface.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "jsoncheck.h"
#include "normalize.h"
#include "telnyx_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bytes allocated now and at most, counted by the sanitizer's own hooks. */
static size_t live, peak;
static int counting;

static void on_malloc(const volatile void *p, size_t n)
{
        (void)p;
        if (counting && (live += n) > peak)
                peak = live;
}

static void on_free(const volatile void *p)
{
        if (counting && p)
                live -= __sanitizer_get_allocated_size((const void *)p);
}

/* The answer read within a bound of 64 bytes per byte of it (json-c's
 * worst is several hundred): what it held at most, against the bound. */
static void check_memory(const char *page, size_t size)
{
        static int hooked;
        if (!hooked)
                hooked = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
        size_t bound = 64 * size + 4096;
        char why[256];
        live = peak = 0;
        counting = 1;
        json_object *o = pb_json_parse_max(page, size, bound, why, sizeof(why));
        size_t held = peak;
        json_object_put(o);
        counting = 0;
        /* the bound, and the scan's own arrays and json-c's parser around it */
        if (held > bound + 16 * size + 65536)
                abort();
}

/* What a backfill does with a page the client read gives the items
 * pb_normalize gives the same bytes: the client's check kept
 * (pb_json_check_bounded), then either no tree (pb_json_page_by_spans: and
 * then json-c must be able to read the page, should an element need its
 * tree) or json-c's (pb_json_parse_passed); pb_normalize_parsed on that,
 * the bytes and, or not, the client's check (the reason aside for a page
 * refused whole that json-c read only leniently). */
static void same_as_the_backfill(const pb_norm_opts_t *opts, const pb_ingest_t *ing,
                                 const char *page, size_t size, const pb_batch_t *b)
{
        char why[256];
        pb_jcheck_t jc;
        memset(&jc, 0, sizeof(jc));
        jc.want_items = 1;
        json_object *root = NULL;
        int by_spans = 0;
        if (pb_json_check_bounded(page, size, PB_JSON_MAX_COST, &jc, why, sizeof(why)) == 0) {
                by_spans = pb_json_page_by_spans(&jc);
                if (by_spans) {
                        json_object *t = pb_json_parse(page, size, why, sizeof(why));
                        if (!t || !json_object_is_type(t, json_type_object))
                                abort(); /* the client took a page json-c cannot read */
                        json_object_put(t);
                } else {
                        root = pb_json_parse_passed(page, size, why, sizeof(why));
                }
        }
        if (by_spans || (root && json_object_is_type(root, json_type_object))) {
                for (int by_client = 0; by_client < 2; by_client++) {
                        pb_batch_t *p = pb_normalize_parsed(opts, root, page, size,
                                                            by_client ? &jc : NULL, ing);
                        /* A text only json-c's lenient reading takes (NaN,
                         * say) is refused whole both ways; the backfill names
                         * the check's reason, pb_normalize json-c's strict
                         * one. */
                        if (p)
                                fz_same_items(b, p, jc.result == 0 || b->cnt != 1);
                        pb_batch_free(p);
                }
        } /* else the client refuses it: no page */
        json_object_put(root);
        pb_jcheck_free(&jc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *page = (const char *)data;
        check_memory(page, size);
        pb_jcheck_t jc;
        memset(&jc, 0, sizeof(jc));
        jc.want_items = 1;
        int chk = pb_json_check(page, size, &jc);
        if (jc.items_ok) {
                size_t end = 0;
                for (size_t i = 0; i < jc.nitems; i++) {
                        const pb_jitem_t *s = &jc.items[i];
                        if (s->off < end || s->off + s->len > size || s->len == 0)
                                abort();
                        end = s->off + s->len;
                        pb_jcheck_t one;
                        memset(&one, 0, sizeof(one));
                        int r = pb_json_check(page + s->off, s->len, &one);
                        if (r < 0 || (r > 0) != (s->bad != 0))
                                abort(); /* an element is JSON alone, bad exactly when marked */
                }
        }
        pb_norm_opts_t opts = {"https://api.telnyx.com/v2/portouts", NULL, NULL, 0};
        pb_ingest_t ing = {PB_INGEST_REST, 1772713845000000};
        pb_batch_t *b = pb_normalize(&opts, page, size, &ing);
        if (b) {
                if (chk >= 0 && jc.items_ok && b->cnt != jc.nitems && b->cnt != 1)
                        abort();
                same_as_the_backfill(&opts, &ing, page, size, b);
                for (size_t i = 0; i < b->cnt; i++)
                        if (b->items[i].env)
                                fz_check_output(page, size, b->items[i].env->json,
                                                b->items[i].env->json_len);
                pb_batch_free(b);
        }
        pb_jcheck_free(&jc);
        char msg[256];
        if (pb_telnyx_error_text(page, size, msg, sizeof(msg)) == 0) {
                size_t n = strnlen(msg, sizeof(msg));
                if (n == sizeof(msg))
                        abort();
                for (size_t i = 0; i < n; i++)
                        if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
                                abort(); /* printed to a terminal */
        }
        return 0;
}

/* Fuzz target: trace.c's traceparent and tracestate parsing (W3C Trace
 * Context Level 1). Input: "traceparent\ntracestate". Invariants: a parse
 * succeeds exactly when pb_traceparent_valid() says the value is valid, and
 * leaves the output untouched when it fails; a kept trace id is the input's
 * (lowercase hex, at offset 3); the traceparent written is valid, in that
 * trace, with a new span; a tracestate kept is the input's, printable and
 * at most PB_TRACESTATE_MAX bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *in = malloc(size + 1);
        if (!in)
                return 0;
        memcpy(in, data, size);
        in[size] = '\0';
        char *ts = strchr(in, '\n');
        if (ts)
                *ts++ = '\0';
        pb_trace_t t;
        memset(&t, 0, sizeof(t));
        int rc = pb_trace_parse(in, ts, &t);
        if ((rc == 0) != (pb_traceparent_valid(in, strlen(in)) != 0))
                abort();
        if (rc != 0 && (t.has_parent || t.tracestate[0]))
                abort();
        pb_trace_start(&t);
        if (!pb_traceparent_valid(t.traceparent, strlen(t.traceparent)))
                abort();
        if (rc == 0) {
                if (memcmp(t.trace_id_hex, in + 3, 32) != 0 || memcmp(t.traceparent + 3, in + 3, 32))
                        abort();
                if (!memcmp(t.traceparent + 36, in + 36, 16) && !memcmp(t.span_id, t.parent_id, 8))
                        abort(); /* the bridge's span is its own */
                size_t n = strlen(t.tracestate);
                if (n && (!ts || strcmp(t.tracestate, ts) || n > PB_TRACESTATE_MAX))
                        abort();
                for (size_t i = 0; i < n; i++)
                        if ((unsigned char)t.tracestate[i] < 0x20 || (unsigned char)t.tracestate[i] > 0x7e)
                                abort();
        }
        free(in);
        return 0;
}

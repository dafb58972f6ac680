#include "trace.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static int hexval(int c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1; /* upper case is invalid: the spec says lowercase only */
}

static int hex_to(const char *s, uint8_t *out, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                int a = hexval((unsigned char)s[2 * i]), b = hexval((unsigned char)s[2 * i + 1]);
                if (a < 0 || b < 0)
                        return -1;
                out[i] = (uint8_t)(a << 4 | b);
        }
        return 0;
}

static int all_zero(const uint8_t *b, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (b[i])
                        return 0;
        return 1;
}

/* Parses into the out-parameters; -1 if invalid (Trace Context §3.2.2). */
static int parse(const char *s, size_t len, uint8_t tid[16], uint8_t pid[8], uint8_t *flags)
{
        uint8_t ver;
        if (len < PB_TRACEPARENT_LEN || hex_to(s, &ver, 1) || ver == 0xff || s[2] != '-' ||
            s[35] != '-' || s[52] != '-')
                return -1;
        /* Version 00 is exactly 55 bytes; a later version may append
         * "-..." fields, which a version-00 reader ignores. */
        if ((ver == 0 && len != PB_TRACEPARENT_LEN) ||
            (ver != 0 && len > PB_TRACEPARENT_LEN && s[PB_TRACEPARENT_LEN] != '-'))
                return -1;
        if (hex_to(s + 3, tid, 16) || hex_to(s + 36, pid, 8) || hex_to(s + 53, flags, 1))
                return -1;
        if (all_zero(tid, 16) || all_zero(pid, 8))
                return -1;
        return 0;
}

int pb_traceparent_valid(const char *s, size_t len)
{
        uint8_t t[16], p[8], f;
        return s && parse(s, len, t, p, &f) == 0;
}

/* tracestate: list-members of printable ASCII (0x20-0x7e) but ',' separated,
 * at most PB_TRACESTATE_MAX bytes; anything else is dropped whole. */
static int tracestate_ok(const char *s, size_t len)
{
        if (len > PB_TRACESTATE_MAX)
                return 0;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
                        return 0;
        return 1;
}

int pb_trace_parse(const char *traceparent, const char *tracestate, pb_trace_t *out)
{
        uint8_t tid[16], pid[8], flags;
        if (!traceparent || parse(traceparent, strlen(traceparent), tid, pid, &flags))
                return -1;
        memcpy(out->trace_id, tid, 16);
        memcpy(out->parent_id, pid, 8);
        /* Only the sampled bit is defined in Level 1: the others are not
         * passed on (§3.2.2.5). */
        out->flags = flags & 1;
        out->has_parent = 1;
        out->tracestate[0] = '\0';
        if (tracestate && tracestate_ok(tracestate, strlen(tracestate)))
                snprintf(out->tracestate, sizeof(out->tracestate), "%s", tracestate);
        return 0;
}

/* Random bytes for ids from a per-thread pool refilled from the system's
 * CSPRNG (randombytes_buf: getrandom) 4 KiB at a time: one system call per
 * ~170 events instead of two per event (the benchmark's headers-only cost
 * halved). */
static void random_id(uint8_t *out, size_t n)
{
        static _Thread_local uint8_t pool[4096];
        static _Thread_local size_t left;
        do {
                if (left < n) {
                        randombytes_buf(pool, sizeof(pool));
                        left = sizeof(pool);
                }
                memcpy(out, pool + sizeof(pool) - left, n);
                sodium_memzero(pool + sizeof(pool) - left, n); /* used once */
                left -= n;
        } while (all_zero(out, n));
}

void pb_trace_start(pb_trace_t *t)
{
        if (!t->has_parent) {
                memset(t->parent_id, 0, sizeof(t->parent_id));
                t->tracestate[0] = '\0';
                random_id(t->trace_id, sizeof(t->trace_id));
                t->flags = 1; /* sampled: the bridge records its span */
        }
        random_id(t->span_id, sizeof(t->span_id));
        /* "00-" trace "-" span "-" flags, without snprintf (every event). */
        static const char hx[] = "0123456789abcdef";
        char *p = t->traceparent;
        *p++ = '0';
        *p++ = '0';
        *p++ = '-';
        for (size_t i = 0; i < 16; i++) {
                t->trace_id_hex[2 * i] = hx[t->trace_id[i] >> 4];
                t->trace_id_hex[2 * i + 1] = hx[t->trace_id[i] & 15];
        }
        t->trace_id_hex[32] = '\0';
        memcpy(p, t->trace_id_hex, 32);
        p += 32;
        *p++ = '-';
        for (size_t i = 0; i < 8; i++) {
                *p++ = hx[t->span_id[i] >> 4];
                *p++ = hx[t->span_id[i] & 15];
        }
        *p++ = '-';
        *p++ = hx[t->flags >> 4];
        *p++ = hx[t->flags & 15];
        *p = '\0';
}

void pb_trace_ids(const pb_trace_t *t, pb_trace_ids_t *out)
{
        memcpy(out->trace_id, t->trace_id, sizeof(out->trace_id));
        memcpy(out->span_id, t->span_id, sizeof(out->span_id));
        memcpy(out->parent_id, t->parent_id, sizeof(out->parent_id));
        out->has_parent = (uint8_t)(t->has_parent != 0);
        memcpy(out->trace_id_hex, t->trace_id_hex, sizeof(out->trace_id_hex));
}

void pb_trace_begin(pb_trace_t *t, const char *traceparent, const char *tracestate)
{
        t->has_parent = 0;
        t->tracestate[0] = '\0';
        if (traceparent)
                pb_trace_parse(traceparent, tracestate, t);
        pb_trace_start(t);
}

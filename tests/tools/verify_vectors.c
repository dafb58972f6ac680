/* The bridge's webhook signature check, run over vectors made elsewhere
 * (tests/js/ed25519-sdk.js makes them with Node's crypto and asks the
 * official Telnyx Node SDK for its verdict on each): the same calls the
 * listener makes, pb_verify_headers() then pb_verify_message() over
 * "<timestamp>|<body>".
 *
 *   verify_vectors < VECTORS > VERDICTS
 *
 * Each input line: public key (base64), timestamp header, signature header,
 * body (hex), now (Unix seconds), tab-separated; "-" for an absent header.
 * Each output line: the result's name (pb_verify_rc_name), in order. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_verify.h"

static int unhex(const char *h, unsigned char *out, size_t *n)
{
        size_t l = strlen(h);
        if (l % 2)
                return -1;
        for (size_t i = 0; i < l / 2; i++) {
                unsigned v;
                if (sscanf(h + 2 * i, "%2x", &v) != 1)
                        return -1;
                out[i] = (unsigned char)v;
        }
        *n = l / 2;
        return 0;
}

int main(void)
{
        static char line[1 << 20];
        static unsigned char msg[1 << 19];
        while (fgets(line, sizeof(line), stdin)) {
                line[strcspn(line, "\n")] = '\0';
                char *f[5], *save = NULL;
                int nf = 0;
                for (char *t = strtok_r(line, "\t", &save); t && nf < 5;
                     t = strtok_r(NULL, "\t", &save))
                        f[nf++] = t;
                if (nf != 5) {
                        fprintf(stderr, "verify_vectors: a line without 5 fields\n");
                        return 2;
                }
                char err[256];
                pb_verifier_t *v = pb_verifier_new(f[0], 300, err, sizeof(err));
                if (!v) {
                        printf("bad_key\n");
                        continue;
                }
                const char *ts = strcmp(f[1], "-") ? f[1] : NULL;
                const char *sg = strcmp(f[2], "-") ? f[2] : NULL;
                unsigned char sig[64];
                char prefix[PB_VERIFY_PREFIX_MAX];
                size_t plen = 0, blen = 0;
                pb_verify_rc_t rc =
                    pb_verify_headers(v, ts, sg, strtoll(f[4], NULL, 10), sig, prefix, &plen);
                if (rc == PB_VERIFY_OK) {
                        memcpy(msg, prefix, plen);
                        if (strcmp(f[3], "-") && unhex(f[3], msg + plen, &blen)) {
                                fprintf(stderr, "verify_vectors: bad hex\n");
                                return 2;
                        }
                        rc = pb_verify_message(v, sig, msg, plen + blen);
                }
                printf("%s\n", pb_verify_rc_name(rc));
                pb_verifier_free(v);
        }
        return 0;
}

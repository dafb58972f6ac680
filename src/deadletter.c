#include "deadletter.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char wrap_pre[] = "{\"raw_base64\":\"", wrap_post[] = "\"}";

static size_t put(pb_header_t *out, size_t n, const char *name, const char *value)
{
        if (!value)
                return n;
        out[n].name = name;
        out[n].value = value;
        return n + 1;
}

size_t pb_deadletter_headers(const pb_deadletter_t *dl, pb_header_t *out)
{
        size_t n = 0;
        n = put(out, n, "pb_stage", dl->stage);
        n = put(out, n, "pb_error", dl->error ? dl->error : "rejected");
        n = put(out, n, "pb_error_code", dl->error_code);
        n = put(out, n, "pb_original_topic", dl->original_topic);
        n = put(out, n, "pb_ingestpath", dl->prov.ingest ? dl->prov.ingest : "unknown");
        n = put(out, n, "pb_receivedat", dl->prov.received ? dl->prov.received : "");
        n = put(out, n, "pb_origin", dl->prov.origin ? dl->prov.origin : "");
        n = put(out, n, "pb_original_sha256", dl->original_sha256);
        n = put(out, n, "pb_original_bytes", dl->original_bytes);
        n = put(out, n, "pb_value_encoding", dl->value_encoding);
        n = put(out, n, "pb_redacted", dl->redacted);
        return n;
}

char *pb_deadletter_wrap(const void *bytes, size_t len)
{
        size_t bl = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
        char *v = malloc(sizeof(wrap_pre) - 1 + bl + sizeof(wrap_post));
        if (!v)
                return NULL;
        memcpy(v, wrap_pre, sizeof(wrap_pre) - 1);
        sodium_bin2base64(v + sizeof(wrap_pre) - 1, bl, bytes, len, sodium_base64_VARIANT_ORIGINAL);
        /* bl counts base64's NUL: the closing quote goes over it. */
        memcpy(v + sizeof(wrap_pre) - 1 + bl - 1, wrap_post, sizeof(wrap_post));
        return v;
}

int pb_deadletter_unwrap(const char *value, size_t len, unsigned char **out, size_t *out_len)
{
        const size_t pl = sizeof(wrap_pre) - 1, ql = sizeof(wrap_post) - 1;
        if (len < pl + ql || memcmp(value, wrap_pre, pl) != 0 ||
            memcmp(value + len - ql, wrap_post, ql) != 0)
                return -1;
        unsigned char *bin = malloc(len ? len : 1);
        size_t n = 0;
        if (!bin || sodium_base642bin(bin, len, value + pl, len - pl - ql, NULL, &n, NULL,
                                      sodium_base64_VARIANT_ORIGINAL) != 0) {
                free(bin);
                return -1;
        }
        *out = bin;
        *out_len = n;
        return 0;
}

void pb_deadletter_reject_id(const void *bytes, size_t len, char *out)
{
        unsigned char h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(h, bytes ? bytes : (const void *)"", bytes ? len : 0);
        static const char prefix[] = "sha256:";
        memcpy(out, prefix, sizeof(prefix)); /* with its NUL, overwritten next */
        sodium_bin2hex(out + sizeof(prefix) - 1, 2 * crypto_hash_sha256_BYTES + 1, h, sizeof(h));
}

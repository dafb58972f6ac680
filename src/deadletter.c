#include "deadletter.h"

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
        return n;
}

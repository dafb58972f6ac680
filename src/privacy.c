#include "privacy.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"

struct path {
        char *text; /* dotted; split in place into segs */
        char *segs[8];
        int nsegs, hash;
};

struct pb_privacy {
        struct path paths[PB_PRIVACY_MAX_PATHS];
        int npaths;
        unsigned char *key; /* the file's bytes: HMAC-SHA-256 as anyone computes it */
        size_t key_len;
};

static int add_paths(pb_privacy_t *p, const char *list, int hash, char *errstr, size_t errsz)
{
        const char *s = list ? list : "";
        while (*s) {
                s += strspn(s, ", ");
                size_t n = strcspn(s, ", ");
                if (!n)
                        break;
                if (p->npaths == PB_PRIVACY_MAX_PATHS)
                        return pb_seterr(errstr, errsz, "more than %d paths", PB_PRIVACY_MAX_PATHS);
                struct path *pa = &p->paths[p->npaths];
                pa->text = strndup(s, n);
                if (!pa->text)
                        return pb_seterr(errstr, errsz, "out of memory");
                p->npaths++;
                pa->hash = hash;
                for (char *seg = pa->text, *dot;; seg = dot + 1) {
                        dot = strchr(seg, '.');
                        if (dot)
                                *dot = '\0';
                        if (!*seg || pa->nsegs == 8)
                                return pb_seterr(errstr, errsz,
                                                 "\"%.*s\" is not a dotted member path (at most 8 "
                                                 "names, none empty)",
                                                 (int)n, s);
                        pa->segs[pa->nsegs++] = seg;
                        if (!dot)
                                break;
                }
                s += n;
        }
        return 0;
}

pb_privacy_t *pb_privacy_new(const char *drop, const char *hash, const char *key, size_t key_len,
                             char *errstr, size_t errsz)
{
        pb_privacy_t *p = calloc(1, sizeof(*p));
        if (!p || sodium_init() < 0) {
                free(p);
                pb_seterr(errstr, errsz, "out of memory");
                return NULL;
        }
        if (add_paths(p, drop, 0, errstr, errsz) || add_paths(p, hash, 1, errstr, errsz)) {
                pb_privacy_free(p);
                return NULL;
        }
        int hashing = 0;
        for (int i = 0; i < p->npaths; i++)
                hashing |= p->paths[i].hash;
        if (hashing && (!key || key_len < 16)) {
                pb_seterr(errstr, errsz,
                          "privacy.hash needs a key of at least 16 bytes (privacy.hash_key_file "
                          "or PORTOUT_BRIDGE_HASH_KEY)");
                pb_privacy_free(p);
                return NULL;
        }
        if (hashing) {
                p->key = malloc(key_len);
                if (!p->key) {
                        pb_seterr(errstr, errsz, "out of memory");
                        pb_privacy_free(p);
                        return NULL;
                }
                memcpy(p->key, key, key_len);
                p->key_len = key_len;
        }
        return p;
}

void pb_privacy_free(pb_privacy_t *p)
{
        if (!p)
                return;
        for (int i = 0; i < p->npaths; i++)
                free(p->paths[i].text);
        if (p->key)
                sodium_memzero(p->key, p->key_len);
        free(p->key);
        free(p);
}

int pb_privacy_active(const pb_privacy_t *p)
{
        return p && p->npaths > 0;
}

void pb_privacy_hash(const pb_privacy_t *p, const void *data, size_t n, char *out)
{
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256_state st; /* any key length, as RFC 2104 */
        crypto_auth_hmacsha256_init(&st, p->key, p->key_len);
        crypto_auth_hmacsha256_update(&st, data, n);
        crypto_auth_hmacsha256_final(&st, mac);
        memcpy(out, "hmac-sha256:", 13); /* with its NUL; the hex goes after the colon */
        sodium_bin2hex(out + 12, 65, mac, sizeof(mac));
}

/* "hmac-sha256:" and 64 lowercase hex digits: what pb_privacy_hash() writes. */
static int is_hash(json_object *v)
{
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        if (json_object_get_string_len(v) != 76 || strncmp(s, "hmac-sha256:", 12) != 0)
                return 0;
        return strspn(s + 12, "0123456789abcdef") == 64;
}

int pb_privacy_apply(const pb_privacy_t *p, json_object *obj)
{
        int changed = 0;
        for (int i = 0; p && i < p->npaths; i++) {
                const struct path *pa = &p->paths[i];
                json_object *parent = obj, *v = NULL;
                for (int k = 0; k < pa->nsegs - 1 && parent; k++)
                        if (!json_object_is_type(parent, json_type_object) ||
                            !json_object_object_get_ex(parent, pa->segs[k], &parent))
                                parent = NULL;
                const char *name = pa->segs[pa->nsegs - 1];
                if (!parent || !json_object_is_type(parent, json_type_object) ||
                    !json_object_object_get_ex(parent, name, &v))
                        continue;
                if (!pa->hash) {
                        json_object_object_del(parent, name);
                } else if (is_hash(v)) {
                        continue; /* hashed already (a record of ours read back in) */
                } else {
                        char h[80];
                        size_t n = 0;
                        const char *bytes =
                            json_object_is_type(v, json_type_string)
                                ? json_object_get_string(v)
                                : json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, &n);
                        if (json_object_is_type(v, json_type_string))
                                n = (size_t)json_object_get_string_len(v);
                        pb_privacy_hash(p, bytes, n, h);
                        json_object_object_add(parent, name, json_object_new_string(h));
                }
                changed++;
        }
        return changed;
}

char *pb_privacy_redact_doc(const pb_privacy_t *p, const char *doc, size_t len, size_t *out_len)
{
        if (!pb_privacy_active(p) || !doc || len > INT32_MAX)
                return NULL;
        json_tokener *tok = json_tokener_new();
        json_object *root = tok ? json_tokener_parse_ex(tok, doc, (int)len) : NULL, *ev = root;
        size_t end = tok ? json_tokener_get_parse_end(tok) : 0;
        while (end < len && doc[end] && strchr(" \t\r\n", doc[end]))
                end++; /* a line's end */
        int whole = tok && json_tokener_get_error(tok) == json_tokener_success && end == len;
        json_tokener_free(tok);
        json_object *data = NULL;
        if (json_object_object_get_ex(root, "data", &data) &&
            json_object_is_type(data, json_type_object))
                ev = data;
        char *out = NULL;
        if (whole && json_object_is_type(ev, json_type_object) && pb_privacy_apply(p, ev) > 0) {
                size_t n = 0;
                const char *js = json_object_to_json_string_length(
                    root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
                out = js ? malloc(n + 1) : NULL;
                if (out) {
                        memcpy(out, js, n + 1);
                        *out_len = n;
                }
        }
        json_object_put(root);
        return out;
}

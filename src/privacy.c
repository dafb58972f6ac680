#include "privacy.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
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

int pb_privacy_path(const pb_privacy_t *p, int i, const char *const **segs, int *nsegs, int *hash)
{
        if (!p || i < 0 || i >= p->npaths)
                return 0;
        *segs = (const char *const *)p->paths[i].segs;
        *nsegs = p->paths[i].nsegs;
        *hash = p->paths[i].hash;
        return 1;
}

int pb_privacy_reaches(const pb_privacy_t *p, const char *member, json_object *v)
{
        for (int i = 0; p && i < p->npaths; i++) {
                const struct path *pa = &p->paths[i];
                if (strcmp(pa->segs[0], member) != 0)
                        continue;
                /* As pb_privacy_apply() walks it: a member whose value is
                 * null is present (and dropped or hashed). */
                json_object *cur = v;
                int found = 1;
                for (int k = 1; k < pa->nsegs && found; k++)
                        found = json_object_is_type(cur, json_type_object) &&
                                json_object_object_get_ex(cur, pa->segs[k], &cur);
                /* (a hashed value already is left as it is: not a change) */
                if (found && !(pa->hash && is_hash(cur)))
                        return 1;
        }
        return 0;
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

/* --- the textual pass: members found by name in any text --- */

static int is_ws_byte(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The end of a string token starting at its opening quote (past the
 * closing one), or len if it never closes. */
static size_t string_end(const char *s, size_t len, size_t i)
{
        for (i++; i < len; i++) {
                if (s[i] == '\\')
                        i++;
                else if (s[i] == '"')
                        return i + 1;
        }
        return len;
}

/* Up to the next delimiter: what a value that is not JSON runs to. */
static size_t run_end(const char *s, size_t len, size_t i)
{
        while (i < len && !strchr(",}]\"", s[i]) && !is_ws_byte(s[i]))
                i++;
        return i;
}

/* The end of a value at i: a string, a container (balanced, strings
 * skipped), or a run up to a delimiter, each with whatever sticks to it
 * before the next delimiter (in text that is not JSON), so that what
 * replaces it is read back as one token; len if the text ends first. */
static size_t value_end(const char *s, size_t len, size_t i)
{
        if (i >= len)
                return len;
        if (s[i] == '"')
                return run_end(s, len, string_end(s, len, i));
        if (s[i] == '{' || s[i] == '[') {
                int depth = 0;
                while (i < len) {
                        char c = s[i];
                        if (c == '"') {
                                i = string_end(s, len, i);
                                continue;
                        }
                        if (c == '{' || c == '[')
                                depth++;
                        else if ((c == '}' || c == ']') && --depth == 0)
                                return run_end(s, len, i + 1);
                        i++;
                }
                return len;
        }
        return run_end(s, len, i);
}

/* Four hex digits, exactly. */
static int hex4(const char *s, unsigned *v)
{
        *v = 0;
        for (int i = 0; i < 4; i++) {
                char c = s[i];
                unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                             : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                             : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                                    : 16;
                if (d == 16)
                        return 0;
                *v = *v << 4 | d;
        }
        return 1;
}

/* A member name as sent, its escapes decoded as far as a policy name can
 * need (ASCII); 0 if it is longer than out or holds anything else. */
static size_t name_text(const char *s, size_t n, char *out, size_t outsz)
{
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '\\' && i + 1 < n) {
                        char e = s[++i];
                        unsigned v = 0;
                        if (e == 'u' && i + 4 < n && hex4(s + i + 1, &v) && v < 0x80)
                                c = (char)v, i += 4;
                        else if (e == '/' || e == '\\' || e == '"')
                                c = e;
                        else
                                return 0;
                }
                if (k == outsz)
                        return 0;
                out[k++] = c;
        }
        return k;
}

/* The policy's member names (a path's last name), hash or not. */
static int name_rule(const pb_privacy_t *p, const char *sent, size_t sent_len)
{
        char name[128];
        size_t n =
            memchr(sent, '\\', sent_len) ? name_text(sent, sent_len, name, sizeof(name)) : sent_len;
        if (!n || n > sizeof(name))
                return -1;
        if (!memchr(sent, '\\', sent_len))
                memcpy(name, sent, n);
        int rule = -1; /* -1: not named; 0: drop; 1: hash (drop wins a tie) */
        for (int i = 0; i < p->npaths; i++) {
                const char *last = p->paths[i].segs[p->paths[i].nsegs - 1];
                if (strlen(last) == n && memcmp(last, name, n) == 0 &&
                    (rule < 0 || !p->paths[i].hash))
                        rule = p->paths[i].hash;
        }
        return rule;
}

static int is_hash_text(const char *v, size_t n)
{
        return n == 78 && v[0] == '"' && !strncmp(v + 1, "hmac-sha256:", 12) &&
               strspn(v + 13, "0123456789abcdef") == 64 && v[77] == '"';
}

/* Writes text with the value of every member the policy names replaced;
 * returns how many were, or -1 when the buffer could not take it. */
static int scrub_text(const pb_privacy_t *p, const char *s, size_t len, pb_buf_t *out)
{
        int changed = 0, bad = 0;
        size_t copied = 0, i = 0;
        while (i < len) {
                if (s[i] != '"') {
                        i++;
                        continue;
                }
                size_t end = string_end(s, len, i), k = end;
                while (k < len && is_ws_byte(s[k]))
                        k++;
                int rule = k < len && s[k] == ':' && end - i >= 2
                               ? name_rule(p, s + i + 1, end - i - 2)
                               : -1;
                if (rule < 0) {
                        i = end;
                        continue;
                }
                size_t v = k + 1;
                while (v < len && is_ws_byte(s[v]))
                        v++;
                size_t vend = value_end(s, len, v);
                const char *val = s + v;
                size_t vn = vend - v;
                if (vn == 0 || (!rule && vn == 4 && !memcmp(val, "null", 4)) ||
                    (rule && is_hash_text(val, vn))) {
                        i = vend > end ? vend : end;
                        continue;
                }
                bad |= pb_buf_add(out, s + copied, v - copied);
                if (!rule) {
                        bad |= pb_buf_adds(out, "null");
                } else {
                        char h[80];
                        int quoted = val[0] == '"' && vn >= 2 && val[vn - 1] == '"';
                        pb_privacy_hash(p, quoted ? val + 1 : val, quoted ? vn - 2 : vn, h);
                        bad |= pb_buf_adds(out, "\"");
                        bad |= pb_buf_adds(out, h);
                        bad |= pb_buf_adds(out, "\"");
                }
                copied = i = vend;
                changed++;
        }
        bad |= pb_buf_add(out, s + copied, len - copied);
        return bad ? -1 : changed;
}

int pb_privacy_scrub(const pb_privacy_t *p, const char *doc, size_t len, char **out,
                     size_t *out_len)
{
        *out = NULL;
        *out_len = 0;
        if (!pb_privacy_active(p) || !doc)
                return 0;
        /* The text only: a dead letter keeps every byte the policy does not
         * name, as sent (json-c would rewrite what made it unusable). */
        const char *text = doc;
        size_t tn = len;
        /* Each replaced member took its name, quotes, colon and a byte of
         * value ("n":1) and gets at most 78 bytes more. */
        size_t shortest = SIZE_MAX;
        for (int i = 0; i < p->npaths; i++) {
                size_t l = strlen(p->paths[i].segs[p->paths[i].nsegs - 1]);
                shortest = l < shortest ? l : shortest;
        }
        pb_buf_t b;
        pb_buf_init(&b, tn + (tn / (shortest + 4) + 1) * 80 + 4096);
        int n = scrub_text(p, text, tn, &b);
        if (n <= 0) {
                pb_buf_free(&b);
                return n;
        }
        *out = pb_buf_take(&b, out_len);
        return *out ? 1 : -1;
}

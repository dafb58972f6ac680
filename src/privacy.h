/* The privacy policy for what goes downstream (privacy.drop, privacy.hash):
 * JSON member paths, dotted, relative to an event's data ("payload.
 * attempted_pin", "payload.subscriber_name") or to a port-out resource
 * ("end_user_name", "service_address"); each applies where it exists. A
 * dropped member is removed; a hashed one is replaced by
 * "hmac-sha256:<hex>" of its value (a string's bytes, else its JSON text)
 * under the key of privacy.hash_key_file, so that consumers can still match
 * equal values without learning them. A value that is such a hash already
 * (a record of the bridge read back in, e.g. replayed from its own topic)
 * is left as it is, so applying the policy twice changes nothing more.
 * Pure: no I/O, no clock.
 *
 * Ownership: pb_privacy_new()/pb_privacy_free(); the key is copied. */
#ifndef PB_PRIVACY_H
#define PB_PRIVACY_H

#include <json-c/json.h>
#include <stddef.h>

typedef struct pb_privacy pb_privacy_t;

/* The most paths a policy holds. */
#define PB_PRIVACY_MAX_PATHS 32

/* A policy from comma-separated path lists (NULL: none) and the hash key
 * (needed if hash lists a path). Returns NULL with why (a bad path, no key,
 * too many). A policy with no path is valid and changes nothing. */
pb_privacy_t *pb_privacy_new(const char *drop, const char *hash, const char *key, size_t key_len,
                             char *errstr, size_t errsz);

/* Frees the policy. NULL is a no-op. */
void pb_privacy_free(pb_privacy_t *p);

/* 1 if the policy changes anything at all (p may be NULL). */
int pb_privacy_active(const pb_privacy_t *p);

/* Applies the policy to the object (changed in place); returns how many
 * members it dropped or hashed. */
int pb_privacy_apply(const pb_privacy_t *p, json_object *obj);

/* Path i of the policy, split at its dots (borrowed from p), and whether
 * it is hashed (else dropped): 1, or 0 when there is no path i. */
int pb_privacy_path(const pb_privacy_t *p, int i, const char *const **segs, int *nsegs, int *hash);

/* 1 if pb_privacy_apply() on an object holding v as its member would
 * change anything there (v may be NULL: then only a path that names member
 * itself does). Lets a caller skip copying what the policy leaves alone. */
int pb_privacy_reaches(const pb_privacy_t *p, const char *member, json_object *v);

/* A document (a webhook body, a REST event, a replay line) with the policy
 * applied to its event: its "data" member if that is an object, else the
 * document itself. A new NUL-terminated JSON text (*out_len bytes; the
 * caller frees it), or NULL if the policy changes nothing there, the bytes
 * are not a JSON object, or memory ran out. For a dead letter's value. */
char *pb_privacy_redact_doc(const pb_privacy_t *p, const char *doc, size_t len, size_t *out_len);

/* The bytes of an unusable input (a dead letter's value) as they may leave
 * the bridge: anywhere in the text, JSON or not (a truncated body, a list,
 * a member the paths would not reach), the value of every member named as
 * a path ends ("attempted_pin", escapes decoded) replaced by null (drop) or
 * the hash of its text as sent (hash); every other byte as it came (json-c
 * would rewrite what made it unusable). Nothing derived from the input's
 * own bytes (its SHA-256, its size) may leave the bridge beside it: name it
 * by these bytes. Returns 1 with a new NUL-terminated buffer (*out, *out_len; the
 * caller frees it) if anything changed, 0 if nothing did, -1 if out of
 * memory. */
int pb_privacy_scrub(const pb_privacy_t *p, const char *doc, size_t len, char **out,
                     size_t *out_len);

/* The keyed hash of n bytes, as written: "hmac-sha256:" and 64 hex digits
 * (out holds at least 77 bytes). */
void pb_privacy_hash(const pb_privacy_t *p, const void *data, size_t n, char *out);

#endif

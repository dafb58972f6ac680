/* Desk commands (desk.enabled): what a record of topics.commands asks, the
 * rules that refuse one without an API call, the call it makes, how a call
 * of unknown fate is settled by reading the port-out, and the result
 * record's data. A command is a structured CloudEvent (JSON), keyed by its
 * port-out id:
 *   {"specversion":"1.0","id":"<command id>","source":"...",
 *    "type":"com.telnyx.portout.authorize" | ".reject" | ".comment",
 *    "subject":"<portout id>","time":"<RFC 3339>",
 *    "data":{"reason":"..."} | {"body":"..."}}
 *
 * Pure: no I/O, no clock of its own (now is given).
 * Ownership: pb_command_t is a value (fixed buffers); pb_command_result_data()
 * returns a string the caller frees. */
#ifndef PB_DESK_COMMAND_H
#define PB_DESK_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "telnyx_client.h"

#define PB_COMMAND_ID_MAX     128
#define PB_COMMAND_REASON_MAX 1024
#define PB_COMMAND_BODY_MAX   4096

typedef enum pb_command_type {
        PB_CMD_UNKNOWN = 0,
        PB_CMD_AUTHORIZE, /* PATCH /portouts/{id}/authorized {"reason": ...} */
        PB_CMD_REJECT,    /* PATCH /portouts/{id}/rejected-pending {"reason": ...} */
        PB_CMD_COMMENT,   /* POST /portouts/{id}/comments {"body": ...} */
} pb_command_type_t;

typedef struct pb_command {
        char id[PB_COMMAND_ID_MAX + 1];        /* "" if none could be read */
        char portout_id[PB_TELNYX_ID_MAX + 1]; /* "" if none could be read */
        char type_name[96];                    /* the CloudEvents type as sent (cut), "" if none */
        pb_command_type_t type;
        int64_t time_us;
        char reason[PB_COMMAND_REASON_MAX + 1]; /* data.reason, "" if none */
        char body[PB_COMMAND_BODY_MAX + 1];     /* data.body (comment) */
} pb_command_t;

/* 1 if id may be a command id: 1 to PB_COMMAND_ID_MAX characters of
 * A-Z a-z 0-9 . _ : - (a UUID, a ULID, "ticket-123:1"). */
int pb_command_id_valid(const char *id);

/* Reads a command record (value, key): 0 with *c filled, or PB_ERR with the
 * reason it is refused (not a CloudEvent, an unknown type, a bad id or
 * port-out id, a key other than its subject, no time, a reject without a
 * reason, a comment without a body). What could be read stays in *c (its
 * id, if readable, names the refusal). */
int pb_command_parse(const char *value, size_t len, const char *key, size_t key_len,
                     pb_command_t *c, char *why, size_t whysz);

/* The rule on a command Telnyx would be asked to carry out, given the
 * port-out's status now: older than max_age_s (by its time) is refused, an
 * authorize or reject only while pending; a comment on any port-out. 0 to
 * go on, PB_ERR with the reason. */
int pb_command_allowed(const pb_command_t *c, const char *status, int64_t now_us, int64_t max_age_s,
                       char *why, size_t whysz);

/* The call: method, path suffix after /portouts/{id}, and its JSON body
 * (as the official SDKs send it: {"reason": ...}, {"body": ...}; nothing
 * else) into body (bodysz). Returns 0, or PB_ERR if it does not fit. */
int pb_command_request(const pb_command_t *c, const char **method, const char **suffix, char *body,
                       size_t bodysz);

/* A call whose answer never came, settled by what Telnyx shows now: status
 * (the port-out's) and, for a comment, whether a comment with its body is
 * there (has_comment). 1 if the port-out shows it carried out, 0 if it
 * shows it was not. */
int pb_command_settled_done(const pb_command_t *c, const char *status, int has_comment);

/* The outcome of a command, for its result record. */
typedef struct pb_command_result {
        const char *outcome;      /* "done", "refused", "failed", "dry_run" */
        long http_status;         /* 0: no call, or no answer */
        const char *error_code;   /* Telnyx's, NULL if none */
        const char *error_detail; /* Telnyx's, NULL if none */
        const char *status_after; /* the port-out's status after, NULL if unknown */
        const char *reason;       /* why refused or failed, NULL if done */
        const char *settled_by;   /* how a call of unknown fate was settled, NULL if not one */
} pb_command_result_t;

/* The result's data: {"command_id", "type", "portout_id", "outcome",
 * "http_status", "error_code", "error_detail", "status_after", "reason",
 * "settled_by"} (null where unknown). NULL out of memory; the caller frees. */
char *pb_command_result_data(const pb_command_t *c, const pb_command_result_t *r, size_t *len);

#endif

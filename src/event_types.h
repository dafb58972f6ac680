/* The Telnyx event types the bridge knows, one row each: where the port-out
 * id lives in its payload, the CloudEvents type, its topic option and the
 * topic's default. The config options, the router, the normalizer and every
 * reader of the topics take them from here: a fourth type is one row (and
 * its test), nothing else. A type not listed still flows, to topics.other.
 *
 * X(NAME, telnyx event_type, payload member holding the port-out id,
 *   default topic) -- NAME is the option's suffix: topics.NAME. */
#ifndef PB_EVENT_TYPES_H
#define PB_EVENT_TYPES_H

#include <stddef.h>

#define PB_EVENT_TYPES(X)                                                                          \
        X(status_changed, "portout.status_changed", "id", "telnyx.portouts.status-changed")        \
        X(foc_date_changed, "portout.foc_date_changed", "id", "telnyx.portouts.foc-date-changed")  \
        X(new_comment, "portout.new_comment", "portout_id", "telnyx.portouts.new-comment")

/* PB_ET_status_changed, ...; PB_ET_COUNT known types. */
enum pb_event_type_index {
#define PB_ET_ENUM(name, telnyx, idf, topic) PB_ET_##name,
        PB_EVENT_TYPES(PB_ET_ENUM)
#undef PB_ET_ENUM
            PB_ET_COUNT
};

typedef struct pb_event_type {
        const char *name;     /* "status_changed": the option topics.<name> */
        const char *telnyx;   /* "portout.status_changed" */
        const char *ce_type;  /* "com.telnyx.portout.status_changed" */
        const char *id_field; /* payload member with the port-out id */
} pb_event_type_t;

/* The table, PB_ET_COUNT rows, in PB_EVENT_TYPES order. */
extern const pb_event_type_t pb_event_types[PB_ET_COUNT];

/* The row of a Telnyx event_type, or NULL for a type this version does not
 * know. */
const pb_event_type_t *pb_event_type_find(const char *telnyx);

/* Prefix of every CloudEvents type the bridge writes for a Telnyx event. */
#define PB_CE_TYPE_PREFIX "com.telnyx."

#endif

/* Routing: which topic an event goes to. Known port-out event types have a
 * topic each; anything else goes to the "other" topic, never dropped. */
#ifndef PB_ROUTE_H
#define PB_ROUTE_H

#include "config.h"

/* Returns the topic for a Telnyx event type (borrowed from cfg). */
const char *pb_route_topic(const pb_config_t *cfg, const char *event_type);

#endif

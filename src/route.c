#include "route.h"

#include <string.h>

const char *pb_route_topic(const pb_config_t *cfg, const char *event_type)
{
        if (strcmp(event_type, "portout.status_changed") == 0)
                return cfg->topic_status_changed;
        if (strcmp(event_type, "portout.foc_date_changed") == 0)
                return cfg->topic_foc_date_changed;
        if (strcmp(event_type, "portout.new_comment") == 0)
                return cfg->topic_new_comment;
        return cfg->topic_other;
}

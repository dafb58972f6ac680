#include "event_types.h"

#include <string.h>

const pb_event_type_t pb_event_types[PB_ET_COUNT] = {
#define PB_ET_ROW(n, telnyx, idf, topic) {#n, telnyx, PB_CE_TYPE_PREFIX telnyx, idf},
    PB_EVENT_TYPES(PB_ET_ROW)
#undef PB_ET_ROW
};

const pb_event_type_t *pb_event_type_find(const char *telnyx)
{
        for (size_t i = 0; i < PB_ET_COUNT; i++)
                if (strcmp(pb_event_types[i].telnyx, telnyx) == 0)
                        return &pb_event_types[i];
        return NULL;
}

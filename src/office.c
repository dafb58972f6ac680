#include "office.h"

void pb_office_init(pb_office_t *o, pb_leader_fn *leader, pb_fence_fn *fence, void *ctx)
{
        o->leader = leader;
        o->fence = fence;
        o->ctx = ctx;
        atomic_store(&o->term, 0);
}

static uint64_t term_now(pb_office_t *o)
{
        return o->leader ? o->leader(o->ctx) : 1;
}

pb_office_rc_t pb_office_check(pb_office_t *o, int in_office)
{
        uint64_t t = term_now(o);
        if (!t)
                return PB_OFFICE_NONE;
        if (in_office && t != atomic_load(&o->term))
                return PB_OFFICE_STALE;
        if (!in_office)
                atomic_store(&o->term, t);
        return PB_OFFICE_ACT;
}

const char *pb_office_why(pb_office_rc_t rc)
{
        return rc == PB_OFFICE_NONE    ? "not the poll leader"
               : rc == PB_OFFICE_STALE ? "the leadership was lost and regained: what it knew is "
                                         "stale"
                                       : "in office";
}

int pb_office_held(pb_office_t *o)
{
        uint64_t t = term_now(o);
        return t && t == atomic_load(&o->term);
}

int pb_office_fence(pb_office_t *o, const char *topic, int32_t partition, int64_t offset,
                    const char *meta, char *errstr, size_t errsz)
{
        return o->fence ? o->fence(o->ctx, topic, partition, offset, meta, errstr, errsz) : 0;
}

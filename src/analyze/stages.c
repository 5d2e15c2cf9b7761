/*
 * stages.c - Names of the workload's knobs and stages (postprof/stages.h):
 * the vocabulary the report, the analysis and the exports share.
 */
#include <string.h>

#include <postprof/error.h>
#include <postprof/stages.h>

static const char *const knob_names[] = {
#define PP__KNOB_NAME(id, name, doc) name,
    PP_KNOB_LIST(PP__KNOB_NAME)
#undef PP__KNOB_NAME
};

static const char *const stage_names[] = {
#define PP__STAGE_NAME(id, name, doc) name,
    PP_STAGE_LIST(PP__STAGE_NAME)
#undef PP__STAGE_NAME
};

const char *pp_knob_name(pp_knob knob)
{
    return (unsigned)knob < PP_KNOB_COUNT ? knob_names[knob] : "?";
}

int pp_knob_parse(const char *name, pp_knob *out)
{
    for (int i = 0; name && i < PP_KNOB_COUNT; i++)
        if (strcmp(knob_names[i], name) == 0) {
            *out = (pp_knob)i;
            return PP_OK;
        }
    return PP_ENOTFOUND;
}

const char *pp_stage_name(pp_stage stage)
{
    return (unsigned)stage < PP_STAGE_COUNT ? stage_names[stage] : "?";
}

/*
 * workload.c - Names of the workload interface's knobs and stages, and the
 * check every profiler runs on a workload description before driving it.
 */
#include <string.h>

#include <postprof/error.h>
#include <postprof/workload.h>

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

int pp_workload_check(const pp_workload *w)
{
    if (!w || !w->run_stage || !w->set_knob || !w->get_knob)
        return PP_EINVAL;
    if (w->n_sources > PP_WORKLOAD_MAX_SOURCES || w->n_models > PP_WORKLOAD_MAX_MODELS)
        return PP_EINVAL;
    for (size_t i = 0; i < w->n_sources; i++)
        if (!w->source_names[i])
            return PP_EINVAL;
    for (size_t i = 0; i < w->n_models; i++)
        if (!w->model_names[i])
            return PP_EINVAL;
    if (w->network_source >= (int)w->n_sources || w->n_cache_backends > PP_WORKLOAD_MAX_BACKENDS)
        return PP_EINVAL;
    for (size_t i = 0; i < w->n_cache_backends; i++)
        if (!w->cache_backend_names[i])
            return PP_EINVAL;
    return PP_OK;
}

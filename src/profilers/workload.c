/*
 * workload.c - The check every profiler runs on a workload description
 * before driving it.
 */
#include <postprof/error.h>
#include <postprof/workload.h>

int pp_workload_check(const pp_workload *w)
{
    if (!w || w->version < 1) /* unset: a description from before versions, or not filled */
        return PP_EINVAL;
    if (!w->run_stage || !w->set_knob || !w->get_knob)
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

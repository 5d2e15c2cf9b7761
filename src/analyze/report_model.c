/*
 * report_model.c - Lifecycle of the plain-data report and the names its
 * enums carry in JSON and console output. Pure: no I/O.
 */
#include <stdlib.h>

#include <postprof/report.h>

pp_report *pp_report_new(void)
{
    pp_report *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->schema_version = PP_REPORT_SCHEMA_VERSION;
    for (int i = 0; i < PP_STAGE_COUNT; i++)
        r->perf.stage_share[i] = -1.0;
    r->loading.keep_alive_source = -1;
    return r;
}

void pp_report_free(pp_report *r)
{
    free(r);
}

const char *pp_finding_kind_name(pp_finding_kind kind)
{
    static const char *const names[] = {
#define PP__FK_NAME(id, name) name,
        PP_FINDING_KIND_LIST(PP__FK_NAME)
#undef PP__FK_NAME
    };
    return (unsigned)kind < PP_FIND_KIND_COUNT ? names[kind] : "?";
}

const char *pp_severity_name(pp_severity sev)
{
    switch (sev) {
    case PP_SEV_MODERATE:
        return "moderate";
    case PP_SEV_HIGH:
        return "high";
    }
    return "?";
}

const char *pp_category_name(pp_category cat)
{
    switch (cat) {
    case PP_CAT_PERFORMANCE:
        return "performance";
    case PP_CAT_MEMORY:
        return "memory";
    case PP_CAT_DATA_LOADING:
        return "data_loading";
    case PP_CAT_MODEL_INFERENCE:
        return "model_inference";
    case PP_CAT_CACHE:
        return "cache";
    }
    return "?";
}

const char *pp_impact_name(pp_impact impact)
{
    switch (impact) {
    case PP_IMPACT_LOW:
        return "low";
    case PP_IMPACT_MEDIUM:
        return "medium";
    case PP_IMPACT_HIGH:
        return "high";
    }
    return "?";
}

const char *pp_basis_name(pp_basis basis)
{
    switch (basis) {
    case PP_BASIS_MEASURED:
        return "measured";
    case PP_BASIS_ESTIMATED:
        return "estimated";
    }
    return "?";
}

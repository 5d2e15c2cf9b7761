/*
 * report_settings.c - The settings a run was run with (data, knobs, profile
 * sizes, machine), kept in the report as name/value text so that `postprof
 * compare` can tell whether two runs are comparable. Pure; never allocates.
 */
#include <stdio.h>
#include <string.h>

#include <postprof/report.h>

int pp_report_setting_set(pp_report *r, const char *name, const char *value)
{
    if (!name || !name[0] || !value || strlen(name) >= PP_REPORT_NAME_MAX ||
        strlen(value) >= PP_REPORT_TEXT_MAX)
        return PP_EINVAL;
    size_t i = 0;
    while (i < r->n_settings && strcmp(r->settings[i].name, name) != 0)
        i++;
    if (i == r->n_settings) {
        if (i >= PP_REPORT_MAX_SETTINGS)
            return PP_ERANGE;
        r->n_settings++;
    }
    snprintf(r->settings[i].name, sizeof r->settings[i].name, "%s", name);
    snprintf(r->settings[i].value, sizeof r->settings[i].value, "%s", value);
    return PP_OK;
}

const char *pp_report_setting_get(const pp_report *r, const char *name)
{
    for (size_t i = 0; i < r->n_settings; i++)
        if (strcmp(r->settings[i].name, name) == 0)
            return r->settings[i].value;
    return NULL;
}

/*
 * report_html.c - The HTML report: web/report.html with the CSS, the chart
 * code, the report's JSON and the optional flame-graph profile (any format
 * pp_profile_parse reads) inlined into one page, written atomically.
 * Nothing in the page is fetched at view time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/file.h>
#include <postprof/profile.h>
#include <postprof/report_html.h>

#include "export/report/report.h"
#include "export/formats/formats.h"

#define HTML_MAX ((size_t)256 << 20)

/* Last path component, for labelling the profile in the page. */
static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int pp_report_render_html(const pp_report *r, const char *profile_path, char **out_html,
                          size_t *out_len, char *err, size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    char *json = NULL, *prof = NULL;
    size_t prof_len = 0;
    pp_profile *pf = NULL;
    pp__strbuf folded;
    pp__strbuf_init(&folded, PP__FORMAT_MAX_BYTES);
    pp__strbuf data, flame;
    pp__strbuf_init(&data, HTML_MAX);
    pp__strbuf_init(&flame, HTML_MAX);
    int rc = PP_EINVAL;
    if (out_html)
        *out_html = NULL;
    if (out_len)
        *out_len = 0;
    if (!r || !out_html) {
        snprintf(err, errcap, "no report to render");
        goto out;
    }
    rc = pp_report_to_json_string(r, &json);
    if (rc != PP_OK) {
        snprintf(err, errcap, "out of memory rendering the report");
        goto out;
    }
    pp__web_json_escape(&data, json, strlen(json));
    if (profile_path) {
        rc = pp_file_read(profile_path, PP_PROFILE_MAX_BYTES, &prof, &prof_len, err, errcap);
        if (rc != PP_OK)
            goto out;
        char msg[256] = "";
        rc = pp_profile_parse(prof, prof_len, &pf, msg, sizeof msg);
        if (rc != PP_OK) {
            snprintf(err, errcap, "%s: %s", profile_path, msg[0] ? msg : pp_strerror(rc));
            goto out;
        }
        pp__folded_render(pf, &folded);
        if (folded.err) {
            rc = folded.err;
            snprintf(err, errcap, "%s: %s", profile_path, pp_strerror(rc));
            goto out;
        }
        rc = pp__flame_folded_json(folded.data ? folded.data : "", folded.len,
                                   base_name(profile_path), pp_profile_value_name(pf),
                                   PP_PROFILE_MAX_STACKS, &flame, err, errcap);
        if (rc != PP_OK)
            goto out;
    } else {
        pp__strbuf_adds(&flame, "null");
    }
    if (data.err || flame.err) {
        rc = data.err ? data.err : flame.err;
        snprintf(err, errcap, "out of memory rendering the report");
        goto out;
    }
    const pp__web_var vars[] = {
        {"report-data", data.data, data.len},
        {"profile-data", flame.data, flame.len},
    };
    rc = pp__html_page("report.html", vars, sizeof vars / sizeof vars[0], HTML_MAX, out_html,
                       out_len, err, errcap);
out:
    free(json);
    free(prof);
    pp_profile_free(pf);
    pp__strbuf_release(&folded);
    pp__strbuf_release(&data);
    pp__strbuf_release(&flame);
    return rc;
}

int pp_report_write_html(const pp_report *r, const char *profile_path, const char *path, char *err,
                         size_t errcap)
{
    char *html = NULL;
    size_t len = 0;
    int rc = pp_report_render_html(r, profile_path, &html, &len, err, errcap);
    return pp__html_page_write(path, rc, html, len, err, errcap);
}

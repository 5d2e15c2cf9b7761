/*
 * diff_html.c - `postprof diff --html`: web/diff.html with the CSS, the chart
 * code, both profiles (as folded stacks) and the table of the largest changes
 * inlined into one page, written atomically. Nothing is fetched at view time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/profile.h>
#include <postprof/report_html.h>

#include "export/report/report.h"
#include "export/formats/formats.h"

#define DIFF_HTML_MAX ((size_t)256 << 20)

/* One side as {"source":..., "unit":..., "stacks":[...], "samples":N}. */
static int side_json(const pp_profile *p, const char *label, pp__strbuf *out, char *err,
                     size_t errcap)
{
    pp__strbuf folded;
    pp__strbuf_init(&folded, PP__FORMAT_MAX_BYTES);
    pp__folded_render(p, &folded);
    int rc = folded.err;
    if (rc != PP_OK)
        snprintf(err, errcap, "%s: %s", label, pp_strerror(rc));
    else
        rc = pp__flame_folded_json(folded.data ? folded.data : "", folded.len, label,
                                   pp_profile_value_name(p), PP_PROFILE_MAX_STACKS, out, err,
                                   errcap);
    pp__strbuf_release(&folded);
    return rc;
}

int pp_profile_diff_render_html(const pp_profile *base, const char *base_label,
                                const pp_profile *cand, const char *cand_label, size_t top_n,
                                char **out_html, size_t *out_len, char *err, size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    pp__strbuf data;
    pp__strbuf_init(&data, DIFF_HTML_MAX);
    pp_profile_diff_row *rows = NULL;
    int rc = PP_EINVAL;
    if (out_html)
        *out_html = NULL;
    if (out_len)
        *out_len = 0;
    if (!base || !cand || !out_html) {
        snprintf(err, errcap, "no profiles to render");
        goto out;
    }
    if (!base_label)
        base_label = "baseline";
    if (!cand_label)
        cand_label = "candidate";
    rows = calloc(top_n ? top_n : 1, sizeof *rows);
    size_t n = 0;
    int64_t sb = 0, sc = 0;
    rc = rows ? pp_profile_diff(base, cand, rows, top_n, &n, &sb, &sc) : PP_ENOMEM;
    if (rc == PP_EINVAL) {
        snprintf(err, errcap, "%s counts %s but %s counts %s: nothing to compare", base_label,
                 pp_profile_value_name(base), cand_label, pp_profile_value_name(cand));
        goto out;
    }
    if (rc != PP_OK) {
        snprintf(err, errcap, "out of memory comparing the profiles");
        goto out;
    }
    pp__strbuf_adds(&data, "{\"base\":");
    if ((rc = side_json(base, base_label, &data, err, errcap)) != PP_OK)
        goto out;
    pp__strbuf_adds(&data, ",\"cand\":");
    if ((rc = side_json(cand, cand_label, &data, err, errcap)) != PP_OK)
        goto out;
    pp__strbuf_adds(&data, ",\"top\":[");
    for (size_t i = 0; i < n; i++) {
        pp__strbuf_adds(&data, i ? ",{\"function\":" : "{\"function\":");
        pp__strbuf_json_strz(&data, rows[i].function, PP__JSON_HTML);
        pp__strbuf_adds(&data, ",\"base_self\":");
        pp__strbuf_addd(&data, rows[i].base_self);
        pp__strbuf_adds(&data, ",\"cand_self\":");
        pp__strbuf_addd(&data, rows[i].cand_self);
        pp__strbuf_adds(&data, ",\"base_total\":");
        pp__strbuf_addd(&data, rows[i].base_total);
        pp__strbuf_adds(&data, ",\"cand_total\":");
        pp__strbuf_addd(&data, rows[i].cand_total);
        pp__strbuf_addc(&data, '}');
    }
    pp__strbuf_adds(&data, "]}");
    if (data.err) {
        rc = data.err;
        snprintf(err, errcap, "the profiles are too large for one page: %s", pp_strerror(rc));
        goto out;
    }
    const pp__web_var vars[] = {{"diff-data", data.data, data.len}};
    rc = pp__html_page("diff.html", vars, 1, DIFF_HTML_MAX, out_html, out_len, err, errcap);
out:
    free(rows);
    pp__strbuf_release(&data);
    return rc;
}

int pp_profile_diff_write_html(const pp_profile *base, const char *base_label,
                               const pp_profile *cand, const char *cand_label, size_t top_n,
                               const char *path, char *err, size_t errcap)
{
    char *html = NULL;
    size_t len = 0;
    int rc = pp_profile_diff_render_html(base, base_label, cand, cand_label, top_n, &html, &len,
                                         err, errcap);
    return pp__html_page_write(path, rc, html, len, err, errcap);
}

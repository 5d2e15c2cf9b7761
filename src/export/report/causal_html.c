/*
 * causal_html.c - `postprof report --causal causal.json`: web/causal.html
 * with the CSS, the chart code and the causal results inlined into one page
 * (gain against speedup per site with its 95 % band, and the ranking
 * table), written atomically. Nothing is fetched at view time.
 */
#include <stdio.h>
#include <stdlib.h>

#include <postprof/causal.h>
#include <postprof/error.h>

#include "export/formats/formats.h"
#include "export/report/report.h"

#define CAUSAL_HTML_MAX ((size_t)64 << 20)

int pp_causal_render_html(const pp_causal_result *r, char **out_html, size_t *out_len, char *err,
                          size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    if (out_html)
        *out_html = NULL;
    if (out_len)
        *out_len = 0;
    if (!r || !out_html) {
        snprintf(err, errcap, "no causal results to render");
        return PP_EINVAL;
    }
    pp__strbuf data;
    pp__strbuf_init(&data, CAUSAL_HTML_MAX);
    pp__causal_json_render(r, &data, PP__JSON_HTML);
    int rc = data.err;
    if (rc != PP_OK) {
        snprintf(err, errcap, "the results are too large for one page: %s", pp_strerror(rc));
        goto out;
    }
    const pp__web_var vars[] = {{"causal-data", data.data, data.len}};
    rc = pp__html_page("causal.html", vars, 1, CAUSAL_HTML_MAX, out_html, out_len, err, errcap);
out:
    pp__strbuf_release(&data);
    return rc;
}

int pp_causal_write_html(const pp_causal_result *r, const char *path, char *err, size_t errcap)
{
    char *html = NULL;
    size_t len = 0;
    int rc = pp_causal_render_html(r, &html, &len, err, errcap);
    return pp__html_page_write(path, rc, html, len, err, errcap);
}

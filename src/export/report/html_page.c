/*
 * html_page.c - The step every HTML page of export/report/ ends with: the
 * template expanded with the page's data into one string, and that string
 * written atomically to the user's path.
 */
#include <stdio.h>
#include <stdlib.h>

#include <postprof/error.h>
#include <postprof/file.h>

#include "export/report/report.h"

int pp__html_page(const char *tmpl, const pp__web_var *vars, size_t nvars, size_t max,
                  char **out_html, size_t *out_len, char *err, size_t errcap)
{
    pp__strbuf page;
    pp__strbuf_init(&page, max);
    int rc = pp__web_expand(tmpl, vars, nvars, &page);
    if (rc != PP_OK) {
        snprintf(err, errcap, "cannot build the page: %s", pp_strerror(rc));
        pp__strbuf_release(&page);
        return rc;
    }
    *out_html = pp__strbuf_detach(&page, out_len);
    if (!*out_html) {
        snprintf(err, errcap, "out of memory rendering the page");
        return PP_ENOMEM;
    }
    return PP_OK;
}

int pp__html_page_write(const char *path, int rc, char *html, size_t len, char *err, size_t errcap)
{
    if (rc == PP_OK && !path) {
        if (err && errcap)
            snprintf(err, errcap, "no output path");
        rc = PP_EINVAL;
    }
    if (rc == PP_OK)
        rc = pp_file_write(path, html, len, err, errcap);
    free(html);
    return rc;
}

/*
 * web_assets.c - Looks up the embedded web/ files and expands the HTML
 * templates (report.html, dashboard.html) by inlining their CSS, JS and data,
 * so each page is one self-contained file. Pure: no I/O.
 */
#include <string.h>

#include <postprof/error.h>

#include "export/serve/web_assets.h"

#define MARK_OPEN "<!--@@"
#define MARK_CLOSE "@@-->"

const char *pp__web_asset_get(const char *name, size_t *out_len)
{
    for (size_t i = 0; i < pp__web_asset_count; i++) {
        if (strcmp(pp__web_assets[i].name, name) == 0) {
            if (out_len)
                *out_len = pp__web_assets[i].len;
            return pp__web_assets[i].data;
        }
    }
    return NULL;
}

int pp__web_expand(const char *tmpl, const pp__web_var *vars, size_t nvars, pp__strbuf *out)
{
    size_t tlen = 0;
    const char *p = pp__web_asset_get(tmpl, &tlen);
    if (!p)
        return PP_ENOTFOUND;
    const char *end = p + tlen;
    while (p < end) {
        const char *m = strstr(p, MARK_OPEN);
        if (!m) {
            pp__strbuf_add(out, p, (size_t)(end - p));
            break;
        }
        pp__strbuf_add(out, p, (size_t)(m - p));
        const char *name = m + strlen(MARK_OPEN);
        const char *close = strstr(name, MARK_CLOSE);
        if (!close)
            return PP_ENOTFOUND;
        size_t nlen = (size_t)(close - name);
        const char *val = NULL;
        size_t vlen = 0;
        for (size_t i = 0; i < nvars && !val; i++) {
            if (strlen(vars[i].name) == nlen && memcmp(vars[i].name, name, nlen) == 0) {
                val = vars[i].value;
                vlen = vars[i].len;
            }
        }
        if (!val) {
            char asset[128];
            if (nlen >= sizeof asset)
                return PP_ENOTFOUND;
            memcpy(asset, name, nlen);
            asset[nlen] = '\0';
            val = pp__web_asset_get(asset, &vlen);
            if (!val)
                return PP_ENOTFOUND;
        }
        pp__strbuf_add(out, val, vlen);
        p = close + strlen(MARK_CLOSE);
    }
    return out->err ? out->err : PP_OK;
}

void pp__web_json_escape(pp__strbuf *out, const char *json, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        const char *rep = NULL;
        switch (json[i]) {
        case '<':
            rep = "\\u003c";
            break;
        case '>':
            rep = "\\u003e";
            break;
        case '&':
            rep = "\\u0026";
            break;
        default:
            continue;
        }
        pp__strbuf_add(out, json + start, i - start);
        pp__strbuf_adds(out, rep);
        start = i + 1;
    }
    pp__strbuf_add(out, json + start, len - start);
}

/*
 * flame_folded.c - Turns folded stacks (Brendan Gregg's format: what
 * pp__folded_render writes for any profile pp_profile_parse read) into the
 * JSON the HTML report's flame graph draws. Every line is still checked,
 * errors name the line; nothing allocates beyond the bounded output buffer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <postprof/error.h>

#include "export/report/report.h"

int pp__flame_folded_json(const char *data, size_t len, const char *name, const char *unit,
                          size_t max_stacks, pp__strbuf *out, char *err, size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    if (!name)
        name = "profile";
    size_t lineno = 0, nstacks = 0;
    uint64_t samples = 0;
    int rc = PP_OK;
    if (!unit)
        unit = "samples";
    pp__strbuf_adds(out, "{\"source\":");
    pp__strbuf_json_strz(out, name, PP__JSON_HTML);
    pp__strbuf_adds(out, ",\"unit\":");
    pp__strbuf_json_strz(out, unit, PP__JSON_HTML);
    pp__strbuf_adds(out, ",\"stacks\":[");
    const char *p = data, *end = data + len;
    while (p < end) {
        size_t rest = (size_t)(end - p);
        const char *nl = memchr(p, '\n', rest);
        size_t n = nl ? (size_t)(nl - p) : rest;
        const char *next = nl ? nl + 1 : end;
        lineno++;
        if (n > 0 && p[n - 1] == '\r')
            n--;
        const char *le = p + n;
        if (memchr(p, '\0', n)) {
            snprintf(err, errcap, "%s:%zu: NUL byte in the line (not a folded-stacks text file)",
                     name, lineno);
            rc = PP_EFORMAT;
            goto out;
        }
        const char *s = p;
        while (s < le && (*s == ' ' || *s == '\t'))
            s++;
        if (s == le || *s == '#') {
            p = next;
            continue;
        }
        const char *e = le;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        const char *sp = e;
        while (sp > s && sp[-1] != ' ' && sp[-1] != '\t')
            sp--;
        if (sp == s) {
            snprintf(err, errcap,
                     "%s:%zu: expected 'frame;frame;...;leaf COUNT', found no sample count", name,
                     lineno);
            rc = PP_EFORMAT;
            goto out;
        }
        uint64_t count = 0;
        for (const char *d = sp; d < e; d++) {
            if (*d < '0' || *d > '9' || count > (UINT64_MAX - 9) / 10) {
                snprintf(err, errcap,
                         "%s:%zu: sample count '%.*s' is not a non-negative decimal integer", name,
                         lineno, (int)(e - sp > 40 ? 40 : e - sp), sp);
                rc = PP_EFORMAT;
                goto out;
            }
            count = count * 10 + (uint64_t)(*d - '0');
        }
        const char *se = sp;
        while (se > s && (se[-1] == ' ' || se[-1] == '\t'))
            se--;
        if (count == 0) {
            p = next;
            continue;
        }
        if (++nstacks > max_stacks) {
            snprintf(err, errcap, "%s:%zu: more than %zu stacks (the limit of the flame graph)",
                     name, lineno, max_stacks);
            rc = PP_ERANGE;
            goto out;
        }
        if (nstacks > 1)
            pp__strbuf_addc(out, ',');
        pp__strbuf_addc(out, '[');
        pp__strbuf_json_str(out, s, (size_t)(se - s), PP__JSON_HTML);
        pp__strbuf_addc(out, ',');
        pp__strbuf_addu(out, count);
        pp__strbuf_addc(out, ']');
        samples += count;
        p = next;
    }
    if (samples == 0) {
        snprintf(err, errcap, "%s: no samples (expected lines 'frame;frame;...;leaf COUNT')", name);
        rc = PP_EFORMAT;
        goto out;
    }
    pp__strbuf_adds(out, "],\"samples\":");
    pp__strbuf_addu(out, samples);
    pp__strbuf_addc(out, '}');
    if (out->err) {
        rc = out->err;
        snprintf(err, errcap, "%s: %s", name,
                 rc == PP_ERANGE ? "profile too large for the report" : "out of memory");
    }
out:
    return rc;
}

/*
 * causal_json.c - causal.json (docs/causal.md): what `postprof causal`
 * concluded, written atomically, and read back for the HTML report. An
 * interval without an end (too few experiments) is written as null.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <postprof/causal.h>
#include <postprof/error.h>
#include <postprof/file.h>

#include "common/strbuf.h"
#include "formats.h"

#define CAUSAL_FORMAT "postprof-causal"
#define CAUSAL_VERSION 1

static void add_num(pp__strbuf *b, double v)
{
    if (isfinite(v))
        pp__strbuf_addd(b, v);
    else
        pp__strbuf_adds(b, "null");
}

void pp__causal_json_render(const pp_causal_result *r, pp__strbuf *b, int json_flags)
{
    pp__strbuf_printf(b, "{\n  \"format\": \"%s\",\n  \"version\": %d,\n  \"progress\": ",
                      CAUSAL_FORMAT, CAUSAL_VERSION);
    pp__strbuf_json_strz(b, r->progress ? r->progress : "", json_flags);
    pp__strbuf_printf(b, ",\n  \"baselines\": %zu,\n  \"baseline_ns_per_point\": ", r->baselines);
    add_num(b, r->baseline_ns);
    pp__strbuf_adds(b, ",\n  \"sites\": [");
    for (size_t i = 0; i < r->nsites; i++) {
        const pp_causal_site *s = &r->sites[i];
        pp__strbuf_adds(b, i ? ",\n    {\"name\": " : "\n    {\"name\": ");
        pp__strbuf_json_strz(b, s->name ? s->name : "", json_flags);
        pp__strbuf_adds(b, ", \"slope\": ");
        add_num(b, s->slope);
        pp__strbuf_adds(b, ", \"points\": [");
        for (size_t k = 0; k < s->npoints; k++) {
            const pp_causal_point *p = &s->points[k];
            pp__strbuf_adds(b, k ? ",\n      {\"speedup\": " : "\n      {\"speedup\": ");
            add_num(b, p->speedup);
            pp__strbuf_adds(b, ", \"gain\": ");
            add_num(b, p->gain);
            pp__strbuf_adds(b, ", \"gain_low\": ");
            add_num(b, p->gain_low);
            pp__strbuf_adds(b, ", \"gain_high\": ");
            add_num(b, p->gain_high);
            pp__strbuf_printf(b, ", \"experiments\": %zu}", p->experiments);
        }
        pp__strbuf_adds(b, s->npoints ? "\n    ]}" : "]}");
    }
    pp__strbuf_adds(b, r->nsites ? "\n  ]\n}\n" : "]\n}\n");
}

int pp_causal_json_write(const pp_causal_result *r, const char *path, char *err, size_t errcap)
{
    if (!r || !path)
        return PP_EINVAL;
    pp__strbuf b;
    pp__strbuf_init(&b, (size_t)1 << 30);
    pp__causal_json_render(r, &b, 0);
    size_t len = 0;
    char *text = pp__strbuf_detach(&b, &len);
    if (!text) {
        if (err && errcap)
            snprintf(err, errcap, "%s: out of memory", path);
        return PP_ENOMEM;
    }
    int rc = pp_file_write(path, text, len, err, errcap);
    free(text);
    return rc;
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        if (err && errcap)                                                                         \
            snprintf(err, errcap, __VA_ARGS__);                                                    \
        rc = PP_EFORMAT;                                                                           \
        goto out;                                                                                  \
    } while (0)

/* A number, or null for an open end (def); -1 when neither. */
static int get_num(json_t *o, const char *key, double def, double *out)
{
    json_t *v = json_object_get(o, key);
    if (v && json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!v || !json_is_number(v))
        return -1;
    *out = json_number_value(v);
    return 0;
}

int pp_causal_json_parse(const char *text, size_t len, pp_causal_result **out, char *err,
                         size_t errcap)
{
    if (!out || (!text && len))
        return PP_EINVAL;
    *out = NULL;
    json_error_t je;
    json_t *root = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (err && errcap)
            snprintf(err, errcap, "line %d, column %d: %s", je.line, je.column, je.text);
        return PP_EFORMAT;
    }
    int rc = PP_ENOMEM;
    pp_causal_result *r = calloc(1, sizeof *r);
    if (!r)
        goto out;
    json_t *fmt = json_object_get(root, "format");
    json_t *ver = json_object_get(root, "version");
    if (!json_is_object(root) || !json_is_string(fmt) ||
        strcmp(json_string_value(fmt), CAUSAL_FORMAT) != 0) {
        FAIL("not a causal.json (no \"format\": \"postprof-causal\")");
    }
    if (!json_is_integer(ver) || json_integer_value(ver) != CAUSAL_VERSION) {
        FAIL("\"version\": only version 1 is known");
    }
    json_t *prog = json_object_get(root, "progress");
    json_t *sites = json_object_get(root, "sites");
    json_t *nb = json_object_get(root, "baselines");
    if (!json_is_string(prog) || !json_is_array(sites) || !json_is_integer(nb) ||
        json_integer_value(nb) < 0) {
        FAIL("\"progress\" (a string), \"baselines\" (a count) and \"sites\" (an array) are "
             "required");
    }
    r->baselines = (size_t)json_integer_value(nb);
    if (get_num(root, "baseline_ns_per_point", NAN, &r->baseline_ns) != 0)
        r->baseline_ns = NAN;
    r->progress = strdup(json_string_value(prog));
    size_t n = json_array_size(sites);
    r->sites = calloc(n ? n : 1, sizeof *r->sites);
    if (!r->progress || !r->sites)
        goto out;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(sites, i);
        json_t *name = json_object_get(s, "name");
        json_t *pts = json_object_get(s, "points");
        if (!json_is_object(s) || !json_is_string(name) || !json_is_array(pts)) {
            FAIL("sites[%zu]: \"name\" (a string) and \"points\" (an array) are required", i);
        }
        pp_causal_site *cs = &r->sites[r->nsites];
        size_t np = json_array_size(pts);
        cs->name = strdup(json_string_value(name));
        cs->points = calloc(np ? np : 1, sizeof *cs->points);
        r->nsites++;
        if (!cs->name || !cs->points)
            goto out;
        if (get_num(s, "slope", 0, &cs->slope) != 0)
            cs->slope = 0;
        for (size_t k = 0; k < np; k++) {
            json_t *p = json_array_get(pts, k);
            pp_causal_point *cp = &cs->points[cs->npoints];
            json_t *ne = json_object_get(p, "experiments");
            if (!json_is_object(p) || get_num(p, "speedup", NAN, &cp->speedup) != 0 ||
                get_num(p, "gain", NAN, &cp->gain) != 0 ||
                get_num(p, "gain_low", -INFINITY, &cp->gain_low) != 0 ||
                get_num(p, "gain_high", INFINITY, &cp->gain_high) != 0 || !json_is_integer(ne) ||
                json_integer_value(ne) < 0 || !(cp->speedup >= 0 && cp->speedup <= 1) ||
                !isfinite(cp->gain)) {
                FAIL("sites[%zu].points[%zu]: needs speedup (0..1), gain, gain_low, gain_high "
                     "(numbers or null) and experiments (a count)",
                     i, k);
            }
            cp->experiments = (size_t)json_integer_value(ne);
            cs->npoints++;
        }
    }
    *out = r;
    r = NULL;
    rc = PP_OK;
out:
    pp_causal_result_free(r);
    json_decref(root);
    return rc;
}

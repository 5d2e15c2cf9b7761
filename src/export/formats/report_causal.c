/*
 * report_causal.c - report.json's "causal" section: the causal predictions
 * `postprof run` measured for the workload's stage scopes, beside what the
 * shares and the knob experiments predict (docs/report-schema.md). Written
 * with the rest of the report; read back with every field's type checked
 * and the arrays bounded by the report's fixed sizes.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <postprof/error.h>
#include <postprof/stages.h>

#include "export/formats/report_causal.h"

static void put(json_t *o, const char *k, json_t *v)
{
    json_object_set_new(o, k, v);
}

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *pp__report_causal_json(const pp_report_causal *c)
{
    if (!c->done)
        return NULL;
    json_t *o = json_object();
    put(o, "progress", json_string(c->progress));
    put(o, "phase", json_string(c->phase));
    put(o, "phase_share", c->phase_share >= 0 ? num(c->phase_share) : json_null());
    put(o, "budget_s", num(c->budget_s));
    put(o, "seconds", num(c->seconds));
    put(o, "precision", num(c->precision));
    put(o, "runs", json_integer(c->runs));
    put(o, "experiments", json_integer((json_int_t)c->experiments));
    put(o, "baselines", json_integer((json_int_t)c->baselines));
    put(o, "baseline_s_per_point", num(c->baseline_ns / 1e9));
    put(o, "undecided", json_integer((json_int_t)c->undecided));
    put(o, "note", c->note[0] ? json_string(c->note) : json_null());
    json_t *sites = json_array();
    for (size_t i = 0; i < c->n_sites; i++) {
        const pp_report_causal_site *s = &c->sites[i];
        json_t *so = json_object();
        put(so, "name", json_string(s->name));
        put(so, "stage",
            s->stage >= 0 && s->stage < PP_STAGE_COUNT ? json_string(pp_stage_name(s->stage))
                                                       : json_null());
        put(so, "slope", num(s->slope));
        put(so, "share", s->share >= 0 ? num(s->share) : json_null());
        json_t *pts = json_array();
        for (size_t k = 0; k < s->n_points; k++) {
            const pp_report_causal_point *p = &s->points[k];
            json_t *po = json_object();
            put(po, "speedup", num(p->speedup));
            put(po, "gain", num(p->gain));
            put(po, "gain_low", num(p->gain_low));
            put(po, "gain_high", num(p->gain_high));
            put(po, "experiments", json_integer(p->experiments));
            put(po, "decided", json_boolean(p->decided));
            put(po, "share_gain", num(p->share_gain));
            put(po, "agree", p->agree < 0 ? json_null() : json_boolean(p->agree));
            json_array_append_new(pts, po);
        }
        put(so, "points", pts);
        json_t *cks = json_array();
        for (size_t k = 0; k < s->n_checks; k++) {
            const pp_report_causal_check *ck = &s->checks[k];
            json_t *co = json_object();
            put(co, "experiment", json_string(ck->experiment));
            put(co, "removed", num(ck->removed));
            put(co, "knob", num(ck->knob));
            put(co, "knob_low", num(ck->knob_low));
            put(co, "knob_high", num(ck->knob_high));
            put(co, "causal", num(ck->causal));
            put(co, "causal_low", num(ck->causal_low));
            put(co, "causal_high", num(ck->causal_high));
            put(co, "agree", json_boolean(ck->agree));
            json_array_append_new(cks, co);
        }
        put(so, "knob_checks", cks);
        put(so, "verdict", json_string(s->verdict));
        json_array_append_new(sites, so);
    }
    put(o, "sites", sites);
    return o;
}

/* ---- reading it back ---- */

typedef struct rd {
    char *err;
    size_t cap;
    int failed;
} rd;

static void fail(rd *c, const char *path, const char *key, const char *what)
{
    if (!c->failed)
        snprintf(c->err, c->cap, "%s%s%s: %s", path, key ? "." : "", key ? key : "", what);
    c->failed = 1;
}

/* nullable: null (or absent) gives NAN; otherwise required */
static double get_num(rd *c, json_t *o, const char *path, const char *key, int nullable)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (!nullable)
            fail(c, path, key, "missing");
        return NAN;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v))) {
        fail(c, path, key, "not a finite number");
        return NAN;
    }
    return json_number_value(v);
}

static size_t get_count(rd *c, json_t *o, const char *path, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        fail(c, path, key, "not a count");
        return 0;
    }
    return (size_t)json_integer_value(v);
}

static void get_str(rd *c, json_t *o, const char *path, const char *key, int nullable, char *out,
                    size_t cap)
{
    json_t *v = json_object_get(o, key);
    out[0] = 0;
    if ((!v || json_is_null(v)) && nullable)
        return;
    if (!json_is_string(v)) {
        fail(c, path, key, "not a string");
        return;
    }
    if (json_string_length(v) >= cap || strlen(json_string_value(v)) != json_string_length(v)) {
        fail(c, path, key, "too long or has a NUL byte");
        return;
    }
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
}

static int get_flag(rd *c, json_t *o, const char *path, const char *key, int nullable)
{
    json_t *v = json_object_get(o, key);
    if (nullable && v && json_is_null(v))
        return -1;
    if (!json_is_boolean(v)) {
        fail(c, path, key, "not true or false");
        return 0;
    }
    return json_is_true(v);
}

static json_t *get_arr(rd *c, json_t *o, const char *path, const char *key, size_t max)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_array(v)) {
        fail(c, path, key, "not an array");
        return NULL;
    }
    if (json_array_size(v) > max) {
        fail(c, path, key, "too many entries");
        return NULL;
    }
    return v;
}

static void read_site(rd *c, json_t *so, size_t i, pp_report_causal_site *s)
{
    char p[48];
    snprintf(p, sizeof p, "causal.sites[%zu]", i);
    if (!json_is_object(so)) {
        fail(c, p, NULL, "not an object");
        return;
    }
    get_str(c, so, p, "name", 0, s->name, sizeof s->name);
    char stage[32];
    get_str(c, so, p, "stage", 1, stage, sizeof stage);
    s->stage = -1;
    for (int k = 0; stage[0] && k < PP_STAGE_COUNT; k++)
        if (strcmp(pp_stage_name((pp_stage)k), stage) == 0)
            s->stage = k;
    if (stage[0] && s->stage < 0)
        fail(c, p, "stage", "not a stage name");
    s->slope = get_num(c, so, p, "slope", 0);
    double share = get_num(c, so, p, "share", 1);
    s->share = isfinite(share) ? share : -1;
    get_str(c, so, p, "verdict", 0, s->verdict, sizeof s->verdict);
    json_t *pts = get_arr(c, so, p, "points", PP_REPORT_MAX_CAUSAL_POINTS);
    for (size_t k = 0; pts && k < json_array_size(pts); k++) {
        json_t *po = json_array_get(pts, k);
        char pp[96];
        snprintf(pp, sizeof pp, "%s.points[%zu]", p, k);
        pp_report_causal_point *pt = &s->points[s->n_points++];
        if (!json_is_object(po)) {
            fail(c, pp, NULL, "not an object");
            return;
        }
        pt->speedup = get_num(c, po, pp, "speedup", 0);
        pt->gain = get_num(c, po, pp, "gain", 0);
        pt->gain_low = get_num(c, po, pp, "gain_low", 1);
        pt->gain_high = get_num(c, po, pp, "gain_high", 1);
        pt->experiments = (unsigned)get_count(c, po, pp, "experiments");
        pt->decided = get_flag(c, po, pp, "decided", 0);
        pt->share_gain = get_num(c, po, pp, "share_gain", 1);
        pt->agree = get_flag(c, po, pp, "agree", 1);
        if (!c->failed && !(pt->speedup >= 0 && pt->speedup <= 1))
            fail(c, pp, "speedup", "outside [0, 1]");
        if (!c->failed && pt->decided && !(pt->gain_low <= pt->gain && pt->gain <= pt->gain_high))
            fail(c, pp, "gain", "decided but outside [gain_low, gain_high]");
    }
    json_t *cks = get_arr(c, so, p, "knob_checks", PP_REPORT_MAX_CAUSAL_CHECKS);
    for (size_t k = 0; cks && k < json_array_size(cks); k++) {
        json_t *co = json_array_get(cks, k);
        char cp[96];
        snprintf(cp, sizeof cp, "%s.knob_checks[%zu]", p, k);
        pp_report_causal_check *ck = &s->checks[s->n_checks++];
        if (!json_is_object(co)) {
            fail(c, cp, NULL, "not an object");
            return;
        }
        get_str(c, co, cp, "experiment", 0, ck->experiment, sizeof ck->experiment);
        ck->removed = get_num(c, co, cp, "removed", 0);
        ck->knob = get_num(c, co, cp, "knob", 0);
        ck->knob_low = get_num(c, co, cp, "knob_low", 0);
        ck->knob_high = get_num(c, co, cp, "knob_high", 0);
        ck->causal = get_num(c, co, cp, "causal", 0);
        ck->causal_low = get_num(c, co, cp, "causal_low", 0);
        ck->causal_high = get_num(c, co, cp, "causal_high", 0);
        ck->agree = get_flag(c, co, cp, "agree", 0);
    }
}

int pp__report_causal_read(json_t *root, pp_report_causal *c, char *err, size_t errcap)
{
    rd r = {err, errcap, 0};
    json_t *o = json_object_get(root, "causal");
    memset(c, 0, sizeof *c);
    if (!o || json_is_null(o))
        return PP_OK;
    if (!json_is_object(o)) {
        snprintf(err, errcap, "causal: not an object");
        return PP_EFORMAT;
    }
    const char *p = "causal";
    c->done = 1;
    get_str(&r, o, p, "progress", 0, c->progress, sizeof c->progress);
    get_str(&r, o, p, "phase", 0, c->phase, sizeof c->phase);
    double ps = get_num(&r, o, p, "phase_share", 1);
    c->phase_share = isfinite(ps) ? ps : -1;
    c->budget_s = get_num(&r, o, p, "budget_s", 0);
    c->seconds = get_num(&r, o, p, "seconds", 0);
    c->precision = get_num(&r, o, p, "precision", 0);
    c->runs = (unsigned)get_count(&r, o, p, "runs");
    c->experiments = get_count(&r, o, p, "experiments");
    c->baselines = get_count(&r, o, p, "baselines");
    c->baseline_ns = get_num(&r, o, p, "baseline_s_per_point", 0) * 1e9;
    c->undecided = get_count(&r, o, p, "undecided");
    get_str(&r, o, p, "note", 1, c->note, sizeof c->note);
    json_t *sites = get_arr(&r, o, p, "sites", PP_REPORT_MAX_CAUSAL_SITES);
    for (size_t i = 0; sites && i < json_array_size(sites) && !r.failed; i++)
        read_site(&r, json_array_get(sites, i), i, &c->sites[c->n_sites++]);
    return r.failed ? PP_EFORMAT : PP_OK;
}

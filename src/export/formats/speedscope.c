/*
 * speedscope.c - speedscope's file format (https://www.speedscope.app/
 * file-format-schema.json): shared frames, one "sampled" profile per thread
 * (CPU) or per value (memory: allocated, in use at exit, live at the peak),
 * integer weights. Reads sampled and evented profiles back for `postprof top`.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>
#include <postprof/version.h>

#include "export/formats/formats.h"

static void frames_json(const pp_profile *p, pp__strbuf *b)
{
    pp__strbuf_adds(b, "{\"frames\":[");
    for (size_t i = 0; i < p->nfuncs; i++) {
        const pp__pfunc *f = &p->funcs[i];
        pp__strbuf_adds(b, i ? ",{\"name\":" : "{\"name\":");
        pp__strbuf_json_strz(b, p->str[f->name], 0);
        if (p->str[f->file][0]) {
            pp__strbuf_adds(b, ",\"file\":");
            pp__strbuf_json_strz(b, p->str[f->file], 0);
            if (f->start_line > 0)
                pp__strbuf_printf(b, ",\"line\":%lld", (long long)f->start_line);
        }
        pp__strbuf_adds(b, "}");
    }
    pp__strbuf_adds(b, "]}");
}

/* one sampled profile: samples whose tid matches (all when any_tid) */
static void profile_json(const pp_profile *p, pp__strbuf *b, const char *name, const char *unit,
                         size_t value, int any_tid, uint32_t tid, uint32_t *funcs)
{
    int64_t total = 0;
    for (size_t i = 0; i < p->nsamples; i++)
        if ((any_tid || p->samples[i].tid == tid) && p->samples[i].v[value] > 0)
            total += p->samples[i].v[value];
    pp__strbuf_adds(b, "{\"type\":\"sampled\",\"name\":");
    pp__strbuf_json_strz(b, name, 0);
    pp__strbuf_printf(b, ",\"unit\":\"%s\",\"startValue\":0,\"endValue\":%lld,\"samples\":[", unit,
                      (long long)total);
    int first = 1;
    for (size_t i = 0; i < p->nsamples; i++) {
        const pp__psample *s = &p->samples[i];
        if ((!any_tid && s->tid != tid) || s->v[value] <= 0)
            continue;
        size_t n = pp__profile_frames(p, s, funcs, NULL, PP__PROFILE_MAX_FRAMES);
        pp__strbuf_adds(b, first ? "[" : ",[");
        first = 0;
        for (size_t k = 0; k < n; k++)
            pp__strbuf_printf(b, k ? ",%u" : "%u", funcs[k]);
        pp__strbuf_adds(b, "]");
    }
    pp__strbuf_adds(b, "],\"weights\":[");
    first = 1;
    for (size_t i = 0; i < p->nsamples; i++) {
        const pp__psample *s = &p->samples[i];
        if ((!any_tid && s->tid != tid) || s->v[value] <= 0)
            continue;
        pp__strbuf_printf(b, first ? "%lld" : ",%lld", (long long)s->v[value]);
        first = 0;
    }
    pp__strbuf_adds(b, "]}");
}

void pp__speedscope_render(const pp_profile *p, pp__strbuf *b)
{
    uint32_t *funcs = malloc(PP__PROFILE_MAX_FRAMES * sizeof *funcs);
    uint32_t *tids = malloc((p->nsamples + 1) * sizeof *tids);
    if (!funcs || !tids) {
        b->err = PP_ENOMEM;
        goto out;
    }
    pp__strbuf_adds(b, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",");
    pp__strbuf_printf(b, "\"exporter\":\"postprof %s\",\"name\":\"postprof record\",",
                      pp_version());
    pp__strbuf_adds(b, "\"activeProfileIndex\":0,\"shared\":");
    frames_json(p, b);
    pp__strbuf_adds(b, ",\"profiles\":[");
    if (p->kind == PP_PROFILE_MEM) {
        profile_json(p, b, "allocated (bytes)", "bytes", 1, 1, 0, funcs);
        pp__strbuf_adds(b, ",");
        profile_json(p, b, "in use at exit (bytes)", "bytes", 3, 1, 0, funcs);
        pp__strbuf_adds(b, ",");
        profile_json(p, b, "live at peak (bytes)", "bytes", 5, 1, 0, funcs);
    } else {
        size_t nt = 0;
        for (size_t i = 0; i < p->nsamples; i++) {
            size_t k = 0;
            while (k < nt && tids[k] != p->samples[i].tid)
                k++;
            if (k == nt)
                tids[nt++] = p->samples[i].tid;
        }
        /* sampled time when the period is known, else the main value (counts) */
        size_t value = p->period > 0 ? 1 : p->main_value;
        const char *unit = p->period > 0 ? "nanoseconds" : "none";
        if (nt == 0)
            profile_json(p, b, "cpu", unit, value, 1, 0, funcs);
        for (size_t k = 0; k < nt; k++) {
            char name[96];
            const char *tn = pp__profile_thread_name(p, tids[k]);
            snprintf(name, sizeof name, "%s %s (tid %u)", tn ? tn : "thread",
                     p->kind == PP_PROFILE_WALL ? "wall" : "cpu", tids[k]);
            if (k)
                pp__strbuf_adds(b, ",");
            profile_json(p, b, name, unit, value, 0, tids[k], funcs);
        }
    }
    pp__strbuf_adds(b, "]}\n");
out:
    free(funcs);
    free(tids);
}

static int fail(char *msg, size_t cap, int rc, const char *why)
{
    snprintf(msg, cap, "speedscope: %s", why);
    return rc;
}

static int add_stack(pp_profile *p, const uint32_t *frame_loc, size_t nframes, json_t *stack,
                     int64_t w, uint32_t *locs)
{
    size_t n = json_array_size(stack);
    if (n > PP__PROFILE_MAX_FRAMES)
        return PP_ERANGE;
    for (size_t k = 0; k < n; k++) {
        json_t *fi = json_array_get(stack, k);
        if (!json_is_integer(fi) || json_integer_value(fi) < 0 ||
            (size_t)json_integer_value(fi) >= nframes)
            return PP_EFORMAT;
        locs[n - 1 - k] = frame_loc[json_integer_value(fi)];
    }
    int64_t v[PP__PMAXV] = {w, w};
    return pp__profile_sample(p, locs, n, 0, v);
}

int pp__speedscope_parse(const char *data, size_t len, pp_profile **out, char *msg, size_t cap)
{
    json_error_t jerr;
    json_t *root = json_loadb(data, len, 0, &jerr);
    if (!root) {
        snprintf(msg, cap, "speedscope: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return PP_EFORMAT;
    }
    pp_profile *p = NULL;
    uint32_t *frame_loc = NULL, *locs = NULL;
    int rc = PP_OK;
    json_t *frames = json_object_get(json_object_get(root, "shared"), "frames");
    json_t *profiles = json_object_get(root, "profiles");
    if (!json_is_array(frames) || !json_is_array(profiles)) {
        rc = fail(msg, cap, PP_EFORMAT, "missing shared.frames or profiles array");
        goto out;
    }
    size_t nframes = json_array_size(frames);
    if (nframes > PP__PROFILE_MAX_ITEMS) {
        rc = fail(msg, cap, PP_ERANGE, "too many frames");
        goto out;
    }
    json_t *p0 = json_array_get(profiles, 0);
    const char *unit = json_string_value(json_object_get(p0, "unit"));
    p = pp__profile_new(unit && strcmp(unit, "bytes") == 0 ? PP_PROFILE_MEM : PP_PROFILE_CPU);
    frame_loc = malloc((nframes + 1) * sizeof *frame_loc);
    locs = malloc(PP__PROFILE_MAX_FRAMES * sizeof *locs);
    if (!p || !frame_loc || !locs) {
        rc = PP_ENOMEM;
        goto out;
    }
    if (p->kind == PP_PROFILE_MEM || (unit && strcmp(unit, "nanoseconds") == 0))
        p->main_value = 1; /* bytes allocated, or cpu nanoseconds */
    for (size_t i = 0; i < nframes && rc == PP_OK; i++) {
        json_t *f = json_array_get(frames, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        if (!name) {
            snprintf(msg, cap, "speedscope: frame %zu has no name", i);
            rc = PP_EFORMAT;
            break;
        }
        json_t *line = json_object_get(f, "line");
        pp__pline l = {0, json_is_integer(line) ? json_integer_value(line) : 0};
        rc = pp__profile_func(p, name, json_string_value(json_object_get(f, "file")), l.line,
                              &l.func);
        if (rc == PP_OK)
            rc = pp__profile_loc(p, 0, 0, &l, 1, &frame_loc[i]);
    }
    /* memory files carry several views; the first profile is the one ranked */
    size_t nprof = p->kind == PP_PROFILE_MEM ? 1 : json_array_size(profiles);
    for (size_t pi = 0; pi < nprof && rc == PP_OK; pi++) {
        json_t *pr = json_array_get(profiles, pi);
        const char *type = json_string_value(json_object_get(pr, "type"));
        if (type && strcmp(type, "sampled") == 0) {
            json_t *samples = json_object_get(pr, "samples");
            json_t *weights = json_object_get(pr, "weights");
            if (!json_is_array(samples) ||
                (weights && json_array_size(weights) != json_array_size(samples))) {
                rc = fail(msg, cap, PP_EFORMAT, "samples/weights missing or of different length");
                break;
            }
            for (size_t i = 0; i < json_array_size(samples) && rc == PP_OK; i++) {
                json_t *w = weights ? json_array_get(weights, i) : NULL;
                int64_t wv = w ? (int64_t)json_number_value(w) : 1;
                json_t *st = json_array_get(samples, i);
                if (!json_is_array(st)) {
                    rc = fail(msg, cap, PP_EFORMAT, "a sample is not an array");
                    break;
                }
                rc = add_stack(p, frame_loc, nframes, st, wv, locs);
                if (rc)
                    snprintf(msg, cap, "speedscope: profile %zu sample %zu: bad frame index", pi,
                             i);
            }
        } else if (type && strcmp(type, "evented") == 0) {
            json_t *events = json_object_get(pr, "events");
            json_t *open = json_array();
            double last = 0;
            if (!json_is_array(events) || !open) {
                json_decref(open);
                rc = fail(msg, cap, PP_EFORMAT, "evented profile without events");
                break;
            }
            for (size_t i = 0; i < json_array_size(events) && rc == PP_OK; i++) {
                json_t *e = json_array_get(events, i);
                const char *t = json_string_value(json_object_get(e, "type"));
                json_t *fr = json_object_get(e, "frame");
                double at = json_number_value(json_object_get(e, "at"));
                if (!t || !json_is_integer(fr) || json_array_size(open) >= PP__PROFILE_MAX_FRAMES) {
                    rc = fail(msg, cap, PP_EFORMAT, "bad event");
                    break;
                }
                if (json_array_size(open) && at > last)
                    rc = add_stack(p, frame_loc, nframes, open, (int64_t)(at - last), locs);
                last = at;
                if (strcmp(t, "O") == 0)
                    json_array_append(open, fr);
                else if (json_array_size(open))
                    json_array_remove(open, json_array_size(open) - 1);
            }
            json_decref(open);
            if (rc == PP_EFORMAT && !msg[0])
                fail(msg, cap, rc, "bad frame index in an event");
        } else {
            rc = fail(msg, cap, PP_EFORMAT, "profile type is neither sampled nor evented");
        }
    }
out:
    json_decref(root);
    free(frame_loc);
    free(locs);
    if (rc) {
        pp_profile_free(p);
        return rc;
    }
    *out = p;
    return PP_OK;
}

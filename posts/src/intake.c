/*
 * intake.c - The rows a source read, put through posts_row_validate() and a
 * per-source set of the ids returned so far; a rejected row is counted,
 * logged (the first LOG_REJECTS_MAX per source), counted in
 * posts_rows_rejected_total{source,kind} and passed to the caller's callback.
 * Never prints; the row's text is never quoted.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/log.h>
#include <postprof/metrics.h>

#include "intake.h"
#include "internal.h"

#define LOG_REJECTS_MAX 1000u

void posts__intake_init(posts__intake *in, posts_source_stats *st, const char *source,
                        const char *input)
{
    memset(in, 0, sizeof *in);
    in->st = st;
    in->source = source;
    snprintf(in->input, sizeof in->input, "%s", input ? input : "");
}

void posts__intake_release(posts__intake *in)
{
    if (!in)
        return;
    free(in->seen.slots);
    memset(&in->seen, 0, sizeof in->seen);
}

static size_t slot_of(int64_t id, size_t cap)
{
    return (size_t)(posts__mix64((uint64_t)id) & (cap - 1));
}

/* 1: id added, 0: already there, PP_ENOMEM. */
static int idset_add(posts__idset *s, int64_t id)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        int64_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return PP_ENOMEM;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i])
                continue;
            size_t k = slot_of(s->slots[i], cap);
            while (slots[k])
                k = (k + 1) & (cap - 1);
            slots[k] = s->slots[i];
        }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    size_t k = slot_of(id, s->cap);
    while (s->slots[k]) {
        if (s->slots[k] == id)
            return 0;
        k = (k + 1) & (s->cap - 1);
    }
    s->slots[k] = id;
    s->n++;
    return 1;
}

static void count_metric(posts__intake *in, int kind)
{
    if (!in->series[kind]) {
        pp_registry *reg = pp_metrics_default();
        static const char *const labels[] = {"source", "kind"};
        pp_metric *m = NULL;
        if (!reg || pp_registry_counter(reg, "posts_rows_rejected_total",
                                        "Rows a posts source rejected, by the kind of reason.", 2,
                                        labels, &m) != PP_OK)
            return;
        const char *values[] = {in->source, posts_reject_kind_name(kind)};
        if (pp_metric_series(m, values, &in->series[kind]) != PP_OK)
            return;
    }
    pp_series_inc(in->series[kind]);
}

void posts__intake_reject(posts__intake *in, uint64_t rown, const int64_t *id, int kind,
                          const char *reason)
{
    int jsonl = strcmp(in->source, "jsonl") == 0;
    in->st->rows_rejected++;
    if (kind == POSTS_REJECT_DUPLICATE)
        in->st->duplicate_ids++;
    char where[64], idtext[32] = "";
    if (id)
        snprintf(idtext, sizeof idtext, "%" PRId64, *id);
    if (!in->st->first_reject[0]) {
        if (id)
            snprintf(where, sizeof where, "%s %" PRIu64 " (id %s)", jsonl ? "line" : "row", rown,
                     idtext);
        else
            snprintf(where, sizeof where, "%s %" PRIu64, jsonl ? "line" : "row", rown);
        snprintf(in->st->first_reject, sizeof in->st->first_reject, "%s: %s", where, reason);
    }
    if (in->st->rows_rejected <= LOG_REJECTS_MAX) {
        char comp[48], n[32];
        snprintf(comp, sizeof comp, "posts.source.%s", in->source);
        snprintf(n, sizeof n, "%" PRIu64, rown);
        const char *kname = posts_reject_kind_name(kind);
        const char *at = jsonl ? "file" : strcmp(in->source, "api") == 0 ? "url" : "input";
        if (id)
            pp_log(PP_LOG_WARN, comp, "row_rejected", at, in->input, jsonl ? "line" : "row", n,
                   "id", idtext, "kind", kname, "reason", reason, NULL);
        else
            pp_log(PP_LOG_WARN, comp, "row_rejected", at, in->input, jsonl ? "line" : "row", n,
                   "kind", kname, "reason", reason, NULL);
        if (in->st->rows_rejected == LOG_REJECTS_MAX)
            pp_log(PP_LOG_WARN, comp, "rejects_not_logged", at, in->input, "after", "1000", NULL);
    }
    count_metric(in, kind);
    if (in->on_reject) {
        posts_reject r = {in->source, in->input, rown, id != NULL, id ? *id : 0, kind, reason};
        in->on_reject(in->user, &r);
    }
}

int posts__intake_row(posts__intake *in, const posts_row *row, uint64_t rown, posts_post *out)
{
    posts_err why;
    int kind = POSTS_REJECT_MALFORMED;
    if (posts_row_validate(row, out, &kind, &why) != PP_OK) {
        const posts_value *v = &row->v[POSTS_F_ID];
        posts__intake_reject(in, rown, v->kind == POSTS_V_INT ? &v->i : NULL, kind, why.msg);
        return 0;
    }
    int added = idset_add(&in->seen, out->id);
    if (added < 0)
        return PP_ENOMEM;
    if (added == 0) {
        snprintf(why.msg, sizeof why.msg,
                 "duplicate id: this source already returned a post "
                 "with this id");
        int64_t id = out->id;
        memset(out, 0, sizeof *out);
        posts__intake_reject(in, rown, &id, POSTS_REJECT_DUPLICATE, why.msg);
        return 0;
    }
    return 1;
}

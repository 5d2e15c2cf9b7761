/*
 * compare_out.c - The output formats of `postprof compare`: the console
 * table, JSON, Markdown for a pull-request comment, and GitHub Actions
 * annotations. Every change is printed with its interval.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compare.h"

/* A value in its unit: time as ns/us/ms/s, bytes as MiB, ratios as %. */
static const char *value_str(char *b, size_t cap, double v, const char *unit)
{
    if (!strcmp(unit, "s")) {
        double a = fabs(v);
        if (a < 1e-6)
            snprintf(b, cap, "%.3g ns", v * 1e9);
        else if (a < 1e-3)
            snprintf(b, cap, "%.3g us", v * 1e6);
        else if (a < 1)
            snprintf(b, cap, "%.4g ms", v * 1e3);
        else
            snprintf(b, cap, "%.4g s", v);
    } else if (!strcmp(unit, "bytes")) {
        snprintf(b, cap, "%.4g MiB", v / 1048576.0);
    } else {
        snprintf(b, cap, "%.3g %%", v * 100.0);
    }
    return b;
}

static const char *change_str(char *b, size_t cap, double ratio)
{
    snprintf(b, cap, "%+.1f %%", (ratio - 1.0) * 100.0);
    return b;
}

static const char *interval_str(char *b, size_t cap, const pp_compare_row *r)
{
    if (!(r->low > 0.0) || !isfinite(r->high))
        snprintf(b, cap, "none (too few runs)");
    else
        snprintf(b, cap, "[%+.1f %%, %+.1f %%]", (r->low - 1.0) * 100.0, (r->high - 1.0) * 100.0);
    return b;
}

/* The verdict, and for an inconclusive one what would decide it. */
static const char *verdict_str(char *b, size_t cap, const pp_compare_row *r, int paired)
{
    const char *v = pp_compare_verdict_name(r->verdict);
    const char *unit = paired ? "pairs of runs" : "runs per side";
    if (r->verdict != PP_COMPARE_INCONCLUSIVE || r->runs_needed == 0)
        snprintf(b, cap, "%s", v);
    else if (r->runs_needed > 1000)
        snprintf(b, cap, "%s: the change is at the tolerance, more runs will not settle it", v);
    else if (!isfinite(r->high))
        snprintf(b, cap, "%s: needs at least %zu %s", v, r->runs_needed, unit);
    else
        snprintf(b, cap, "%s: about %zu %s would decide", v, r->runs_needed, unit);
    return b;
}

/* Of the end-to-end rows (wall and CPU time of a pass), the one whose ratio
 * varies least from one comparison to the next: the steadiest measure of the
 * pass's work on this runner. NULL when fewer than two have a spread. */
static const pp_compare_row *steadiest(const pp_compare_row **other, const pp_compare_result *res)
{
    const pp_compare_row *best = NULL;
    *other = NULL;
    for (size_t i = 0; i < res->n; i++) {
        const pp_compare_row *r = &res->rows[i];
        if (strncmp(r->metric, "end_to_end", 10) != 0 || !isfinite(r->spread))
            continue;
        if (!best || r->spread < best->spread) {
            *other = best;
            best = r;
        } else if (!*other || r->spread < (*other)->spread) {
            *other = r;
        }
    }
    return *other ? best : NULL;
}

static void steadiest_line(FILE *f, const pp_compare_result *res)
{
    const pp_compare_row *o, *s = steadiest(&o, res);
    if (s)
        fprintf(f,
                "steadiest measure of the pass's work: %s (one %s's ratio varies by %.1f %%, "
                "%s's by %.1f %%)\n",
                s->metric, res->paired ? "pair" : "baseline/candidate run", s->spread * 100.0,
                o->metric, o->spread * 100.0);
}

static void summary(FILE *f, const pp_compare_result *res)
{
    fprintf(f, "%d regression%s, %d better, %d no significant change, %d inconclusive\n",
            res->regressions, res->regressions == 1 ? "" : "s", res->improvements, res->unchanged,
            res->inconclusive);
}

/* "95 % intervals" or "95 % simultaneous intervals (each of 10 metrics at 99.5 %)" */
static char *levels_str(char *b, size_t cap, const pp_compare_result *res)
{
    if (res->n > 1 && res->row_conf > res->conf)
        snprintf(b, cap, "%.3g %% simultaneous intervals (each of %zu metrics at %.3g %%)",
                 res->conf * 100.0, res->n, res->row_conf * 100.0);
    else
        snprintf(b, cap, "%.3g %% intervals", res->conf * 100.0);
    return b;
}

static void console(FILE *f, const pp_compare_result *res, const cmp_side *b, const cmp_side *c)
{
    char v1[48], v2[48], ch[32], iv[48], vd[128];
    fprintf(f, "baseline: %zu run%s (%s); candidate: %zu run%s (%s)%s\n", b->n,
            b->n == 1 ? "" : "s", b->arg, c->n, c->n == 1 ? "" : "s", c->arg,
            res->paired ? "; paired in the order they ran" : "");
    char lv[128];
    fprintf(f, "tolerance %.3g %%, %s of candidate/baseline over the %s\n", res->tolerance * 100.0,
            levels_str(lv, sizeof lv, res), res->paired ? "pairs' ratios" : "runs");
    fprintf(f, "%-28s %12s %12s %9s  %-22s %7s  %s\n", "metric", "baseline", "candidate", "change",
            "interval", "runs", "verdict");
    for (size_t i = 0; i < res->n; i++) {
        const pp_compare_row *r = &res->rows[i];
        char runs[24];
        snprintf(runs, sizeof runs, "%zu/%zu", r->n_base, r->n_cand);
        fprintf(f, "%-28s %12s %12s %9s  %-22s %7s  %s\n", r->metric,
                value_str(v1, sizeof v1, r->base, r->unit),
                value_str(v2, sizeof v2, r->cand, r->unit), change_str(ch, sizeof ch, r->ratio),
                interval_str(iv, sizeof iv, r), runs, verdict_str(vd, sizeof vd, r, res->paired));
    }
    steadiest_line(f, res);
    summary(f, res);
}

static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.17g", v);
    else
        fputs("null", f);
}

static void json_side(FILE *f, const char *key, const cmp_side *s)
{
    fprintf(f, "  \"%s\": {\"path\": ", key);
    pp_json_write_string(f, s->arg);
    fprintf(f, ", \"runs\": %zu, \"files\": [", s->n);
    for (size_t i = 0; i < s->n; i++) {
        if (i)
            fputs(", ", f);
        pp_json_write_string(f, s->files[i]);
    }
    fputs("]},\n", f);
}

static void json_out(FILE *f, const pp_compare_result *res, const cmp_side *b, const cmp_side *c,
                     const pp_compare_mismatch *mm, size_t n_mm, int exit_code)
{
    fprintf(f, "{\n  \"tolerance\": ");
    json_num(f, res->tolerance);
    fputs(",\n  \"confidence\": ", f);
    json_num(f, res->conf);
    fputs(",\n  \"metric_confidence\": ", f);
    json_num(f, res->row_conf);
    fprintf(f, ",\n  \"paired\": %s,\n", res->paired ? "true" : "false");
    json_side(f, "baseline", b);
    json_side(f, "candidate", c);
    fputs("  \"not_comparable\": [", f);
    for (size_t i = 0; i < n_mm; i++) {
        fputs(i ? ", {\"setting\": " : "{\"setting\": ", f);
        pp_json_write_string(f, mm[i].setting);
        fputs(", \"baseline\": ", f);
        pp_json_write_string(f, mm[i].base);
        fputs(", \"candidate\": ", f);
        pp_json_write_string(f, mm[i].cand);
        fputs("}", f);
    }
    fputs("],\n  \"metrics\": [", f);
    for (size_t i = 0; i < res->n; i++) {
        const pp_compare_row *r = &res->rows[i];
        fputs(i ? ",\n    {\"metric\": " : "\n    {\"metric\": ", f);
        pp_json_write_string(f, r->metric);
        fputs(", \"unit\": ", f);
        pp_json_write_string(f, r->unit);
        fputs(", \"baseline\": ", f);
        json_num(f, r->base);
        fputs(", \"candidate\": ", f);
        json_num(f, r->cand);
        fputs(", \"ratio\": ", f);
        json_num(f, r->ratio);
        int has = r->low > 0.0 && isfinite(r->high);
        fputs(", \"low\": ", f);
        json_num(f, has ? r->low : NAN);
        fputs(", \"high\": ", f);
        json_num(f, has ? r->high : NAN);
        fprintf(f, ", \"runs_baseline\": %zu, \"runs_candidate\": %zu, \"verdict\": ", r->n_base,
                r->n_cand);
        pp_json_write_string(f, pp_compare_verdict_name(r->verdict));
        fprintf(f, ", \"runs_needed\": %zu, \"spread\": ", r->runs_needed);
        json_num(f, r->spread);
        fputc('}', f);
    }
    fprintf(f,
            "%s],\n  \"regressions\": %d, \"better\": %d, \"no_change\": %d, "
            "\"inconclusive\": %d,\n  \"exit_code\": %d\n}\n",
            res->n ? "\n  " : "", res->regressions, res->improvements, res->unchanged,
            res->inconclusive, exit_code);
}

/* Markdown table cell text: '|' would end the cell */
static void md_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|' || *s == '`')
            fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

static void markdown(FILE *f, const pp_compare_result *res, const cmp_side *b, const cmp_side *c,
                     size_t n_mm)
{
    char v1[48], v2[48], ch[32], iv[48], vd[128];
    if (res->regressions)
        fprintf(f, "### postprof compare: %d regression%s\n\n", res->regressions,
                res->regressions == 1 ? "" : "s");
    else
        fprintf(f, "### postprof compare: no regression\n\n");
    char lv[128];
    fprintf(f, "%zu baseline run%s vs %zu candidate run%s%s; tolerance %.3g %%, %s.\n\n", b->n,
            b->n == 1 ? "" : "s", c->n, c->n == 1 ? "" : "s",
            res->paired ? ", paired in the order they ran" : "", res->tolerance * 100.0,
            levels_str(lv, sizeof lv, res));
    if (n_mm)
        fprintf(f,
                "> **Warning:** the runs are not comparable (%zu setting%s differ); compared "
                "anyway (--force).\n\n",
                n_mm, n_mm == 1 ? "" : "s");
    fputs("| metric | baseline | candidate | change | interval | runs | verdict |\n", f);
    fputs("|---|---:|---:|---:|---|---:|---|\n", f);
    for (size_t i = 0; i < res->n; i++) {
        const pp_compare_row *r = &res->rows[i];
        fputs("| ", f);
        md_text(f, r->metric);
        fprintf(
            f, " | %s | %s | %s | %s | %zu/%zu | %s%s%s |\n",
            value_str(v1, sizeof v1, r->base, r->unit), value_str(v2, sizeof v2, r->cand, r->unit),
            change_str(ch, sizeof ch, r->ratio), interval_str(iv, sizeof iv, r), r->n_base,
            r->n_cand, r->verdict == PP_COMPARE_WORSE ? "**" : "",
            verdict_str(vd, sizeof vd, r, res->paired), r->verdict == PP_COMPARE_WORSE ? "**" : "");
    }
    fputc('\n', f);
    steadiest_line(f, res);
    summary(f, res);
}

/* A workflow command's message: '%', CR and LF are escaped (%25, %0D, %0A). */
static void gh_message(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '%')
            fputs("%25", f);
        else if (*s == '\r')
            fputs("%0D", f);
        else if (*s == '\n')
            fputs("%0A", f);
        else
            fputc(*s, f);
    }
}

static void github(FILE *f, const pp_compare_result *res, const cmp_side *b, const cmp_side *c,
                   size_t n_mm)
{
    char msg[512], ch[32], iv[48], vd[128];
    if (n_mm) {
        fputs("::warning title=postprof compare::", f);
        snprintf(msg, sizeof msg,
                 "the runs are not comparable (%zu settings differ); compared "
                 "anyway (--force)",
                 n_mm);
        gh_message(f, msg);
        fputc('\n', f);
    }
    for (size_t i = 0; i < res->n; i++) {
        const pp_compare_row *r = &res->rows[i];
        if (r->verdict != PP_COMPARE_WORSE && r->verdict != PP_COMPARE_INCONCLUSIVE)
            continue;
        snprintf(msg, sizeof msg,
                 "%s: %s, %s, interval %s over %zu vs %zu runs%s (tolerance %.3g %%)", r->metric,
                 verdict_str(vd, sizeof vd, r, res->paired), change_str(ch, sizeof ch, r->ratio),
                 interval_str(iv, sizeof iv, r), r->n_base, r->n_cand,
                 res->paired ? " in pairs" : "", res->tolerance * 100.0);
        fputs(r->verdict == PP_COMPARE_WORSE ? "::error title=performance regression::"
                                             : "::warning title=inconclusive::",
              f);
        gh_message(f, msg);
        fputc('\n', f);
    }
    console(f, res, b, c);
}

int cmp_print(FILE *f, cmp_format format, const pp_compare_result *res, const cmp_side *base,
              const cmp_side *cand, const pp_compare_mismatch *mm, size_t n_mm, int exit_code)
{
    switch (format) {
    case CMP_CONSOLE:
        console(f, res, base, cand);
        break;
    case CMP_JSON:
        json_out(f, res, base, cand, mm, n_mm, exit_code);
        break;
    case CMP_MARKDOWN:
        markdown(f, res, base, cand, n_mm);
        break;
    case CMP_GITHUB:
        github(f, res, base, cand, n_mm);
        break;
    }
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

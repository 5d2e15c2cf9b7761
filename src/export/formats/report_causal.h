/*
 * report_causal.h - The causal section of report.json (`postprof run`'s
 * causal phase, docs/report-schema.md), written and read back by
 * report_json.c and report_read.c through these two functions.
 */
#ifndef PP_EXPORT_REPORT_CAUSAL_H
#define PP_EXPORT_REPORT_CAUSAL_H

#include <stddef.h>

#include <jansson.h>

#include <postprof/report.h>

/* pp__report_causal_json() - The "causal" object; NULL when no causal phase ran. */
json_t *pp__report_causal_json(const pp_report_causal *c);

/*
 * pp__report_causal_read() - root's optional "causal" object into *c
 * (absent: c->done stays 0). Returns PP_OK, or PP_EFORMAT with err naming
 * the first bad field by its path and why.
 */
int pp__report_causal_read(json_t *root, pp_report_causal *c, char *err, size_t errcap);

#endif

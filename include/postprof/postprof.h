/*
 * postprof/postprof.h - Umbrella header: everything a program needs to
 * instrument itself and read back what was measured.
 */
#ifndef POSTPROF_POSTPROF_H
#define POSTPROF_POSTPROF_H

#include <postprof/export.h>
#include <postprof/error.h>
#include <postprof/file.h>
#include <postprof/json.h>
#include <postprof/clock.h>
#include <postprof/histogram.h>
#include <postprof/http.h>
#include <postprof/log.h>
#include <postprof/memory.h>
#include <postprof/profile.h>
#include <postprof/raw_format.h>
#include <postprof/record.h>
#include <postprof/push.h>
#include <postprof/metrics.h>
#include <postprof/scope.h>
#include <postprof/causal.h>
#include <postprof/snapshot.h>
#include <postprof/trace.h>
#include <postprof/sysstats.h>
#include <postprof/version.h>
#include <postprof/stages.h>
#include <postprof/workload.h>
#include <postprof/config.h>
#include <postprof/report.h>
#include <postprof/analyze.h>
#include <postprof/profilers.h>
#include <postprof/report_html.h>
#include <postprof/dashboard.h>
#include <postprof/otlp.h>

#endif

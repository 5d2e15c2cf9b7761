/*
 * serve.h - export/serve/: what a live process serves over HTTP. The server
 * (http.c, header parsing in http_parse.h, connection limits in
 * http_guard.h), the Prometheus exposition
 * (prometheus.c), the dashboard (dashboard.c, the embedded web/ files in
 * web_assets.h) and, declared here, the /api/snapshot document
 * (snapshot_json.c): every site's statistics and the system/GPU stats, as one
 * JSON object.
 */
#ifndef PP_EXPORT_SERVE_H
#define PP_EXPORT_SERVE_H

#include <stddef.h>

#include <postprof/snapshot.h>
#include <postprof/sysstats.h>

/*
 * pp__snapshot_json() - Render snap (may be NULL: no sites) and sys (may be
 * NULL: "system": null) as compact JSON into a new buffer (free()).
 * Returns PP_OK or PP_ENOMEM (*out_text NULL).
 */
int pp__snapshot_json(const pp_snapshot *snap, const pp_sysstats_sample *sys, char **out_text,
                      size_t *out_len);

#endif

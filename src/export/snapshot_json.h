/*
 * snapshot_json.h - The /api/snapshot document: every site's statistics and
 * the system/GPU stats, as one JSON object. Used by the HTTP server.
 */
#ifndef PP_SNAPSHOT_JSON_H
#define PP_SNAPSHOT_JSON_H

#include <stddef.h>

#include <postprof/snapshot.h>
#include <postprof/sysstats.h>

/*
 * pp__snapshot_json() - Render snap (may be NULL: no sites) and sys (may be
 * NULL: "system": null) as compact JSON into a new buffer (free()).
 * Returns PP_OK or PP_ENOMEM (*out_text NULL).
 */
int pp__snapshot_json(const pp_snapshot *snap, const pp_sys_stats *sys, char **out_text,
                      size_t *out_len);

#endif

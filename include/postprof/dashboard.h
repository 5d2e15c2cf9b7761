/*
 * postprof/dashboard.h - The live dashboard: a page served at "/" of a
 * postprof HTTP server that polls /api/snapshot and /metrics every second
 * and draws the six standard metrics over time, the top operations and the
 * current bottlenecks. Its HTML, CSS and JS are compiled into the library.
 */
#ifndef POSTPROF_DASHBOARD_H
#define POSTPROF_DASHBOARD_H

#include <postprof/error.h>
#include <postprof/export.h>
#include <postprof/http.h>

/*
 * pp_dashboard_attach() - Serve the dashboard at "/" (and "/index.html") of
 * s; every other path under "/" that no handler serves answers 404.
 *
 * The page reads the server's own /api/snapshot and /metrics (same origin,
 * no other request). A server started with a token asks for it on every
 * request, the page included, so a plain browser cannot open it: serve the
 * dashboard without a token on 127.0.0.1. Returns PP_OK; PP_EINVAL when s is NULL;
 * PP_EEXIST when "/" is already served; PP_EFULL when s has no handler
 * slot left. Thread-safe, also while s is serving.
 */
PP_EXPORT PP_NODISCARD int pp_dashboard_attach(pp_http_server *s);

#endif

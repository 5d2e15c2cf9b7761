/*
 * dashboard.c - Serves the live dashboard page (web/dashboard.html with its
 * CSS and JS inlined) at "/" of the HTTP server. The page itself polls
 * /api/snapshot and /metrics; this file never touches metrics or files.
 * The page is public even when the server wants a bearer token: a browser
 * cannot send one on navigation, and the page holds no data. It takes the
 * token from the address's fragment (#token=T, never sent to the server) or
 * asks for it, and sends it on its own requests.
 */
#include <string.h>

#include <postprof/dashboard.h>

#include "export/serve/web_assets.h"

#define PAGE_MAX ((size_t)4 << 20)

static int dashboard_handler(const pp_http_request *req, pp_http_response *resp, void *ctx)
{
    (void)ctx;
    const char *path = pp_http_request_path(req);
    if (!path || (strcmp(path, "/") != 0 && strcmp(path, "/index.html") != 0)) {
        static const char nf[] = "not found\n";
        return pp_http_respond(resp, 404, "text/plain; charset=utf-8", nf, sizeof nf - 1);
    }
    pp__strbuf b;
    pp__strbuf_init(&b, PAGE_MAX);
    int rc = pp__web_expand("dashboard.html", NULL, 0, &b);
    if (rc == PP_OK)
        rc = pp_http_respond_header(resp, "Cache-Control", "no-store");
    if (rc == PP_OK)
        rc = pp_http_respond(resp, 200, "text/html; charset=utf-8", b.data, b.len);
    pp__strbuf_release(&b);
    return rc;
}

int pp_dashboard_attach(pp_http_server *s)
{
    if (!s)
        return PP_EINVAL;
    return pp_http_add_public_handler(s, "/", dashboard_handler, NULL);
}

/*
 * postprof/report_html.h - The report as one self-contained HTML page:
 * targets PASS/FAIL, time per stage, latency per operation, the batch-size
 * sweep, the miss-ratio curve, bottlenecks, suggestions (predicted vs
 * measured) and, given a recorded profile, a flame graph. CSS, JS and data
 * are inlined: the page works offline and loads nothing from the network.
 */
#ifndef POSTPROF_REPORT_HTML_H
#define POSTPROF_REPORT_HTML_H

#include <stddef.h>
#include <postprof/error.h>
#include <postprof/export.h>
#include <postprof/profile.h>
#include <postprof/report.h>

#define PP_PROFILE_MAX_BYTES ((size_t)64 << 20) /* largest profile file read */
#define PP_PROFILE_MAX_STACKS 200000            /* distinct stacks drawn */

/*
 * pp_report_render_html() - Render r (and the flame graph of profile_path,
 * NULL for none) as an HTML page in a new NUL-terminated buffer (*out_html,
 * free() it; *out_len excludes the NUL).
 *
 * profile_path is any profile pp_profile_parse() reads (postprof/profile.h:
 * folded stacks "frame;...;leaf COUNT" per line, speedscope, pprof), as
 * written by `postprof record`; the format is detected from the content.
 *
 * Returns PP_OK; PP_EFORMAT for a malformed profile (err names the file
 * and says where and why); PP_ENOTFOUND/PP_EPERM/PP_EIO when it cannot be
 * read; PP_ERANGE for a profile over PP_PROFILE_MAX_BYTES or with more
 * than PP_PROFILE_MAX_STACKS distinct stacks; PP_ENOMEM. On error
 * *out_html is NULL.
 * err (may be NULL) receives a message. Thread-safe for distinct reports.
 */
PP_EXPORT PP_NODISCARD int pp_report_render_html(const pp_report *r, const char *profile_path,
                                                 char **out_html, size_t *out_len, char *err,
                                                 size_t errcap);

/*
 * pp_report_write_html() - pp_report_render_html() written to path by
 * pp_file_write() (postprof/file.h: a regular file atomically, so a reader
 * sees the old page or the new one, never half of one; a device, FIFO or
 * "-" in place).
 *
 * Returns the codes of pp_report_render_html(), and pp_file_write()'s when
 * path cannot be written; on error path is untouched and err (may be NULL)
 * names the file and the reason.
 * Thread-safe for distinct paths.
 */
PP_EXPORT PP_NODISCARD int pp_report_write_html(const pp_report *r, const char *profile_path,
                                                const char *path, char *err, size_t errcap);

/*
 * pp_profile_diff_render_html() - A differential flame graph of two profiles
 * as one self-contained HTML page (*out_html, free() it; *out_len excludes
 * the NUL): the candidate's (or, switched in the page, the baseline's) frames
 * coloured by the change of their share of their own profile's total, and
 * the top_n largest changes of pp_profile_diff(). Labels name the inputs in
 * the page (NULL: "baseline", "candidate").
 *
 * Returns PP_OK; PP_EINVAL when the profiles count different things (err
 * says which); PP_ERANGE when either has more than PP_PROFILE_MAX_STACKS
 * distinct stacks or the page would pass 256 MiB; PP_ENOMEM. On error
 * *out_html is NULL. Neither profile is modified.
 */
PP_EXPORT PP_NODISCARD int
pp_profile_diff_render_html(const pp_profile *base, const char *base_label, const pp_profile *cand,
                            const char *cand_label, size_t top_n, char **out_html, size_t *out_len,
                            char *err, size_t errcap);

/*
 * pp_profile_diff_write_html() - pp_profile_diff_render_html() written to
 * path atomically; on error path is untouched and err names the reason.
 */
PP_EXPORT PP_NODISCARD int pp_profile_diff_write_html(const pp_profile *base,
                                                      const char *base_label,
                                                      const pp_profile *cand,
                                                      const char *cand_label, size_t top_n,
                                                      const char *path, char *err, size_t errcap);

#endif

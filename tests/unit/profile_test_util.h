/*
 * profile_test_util.h - Helpers shared by the profile tests (test_profile.c,
 * test_profile_diff.c, test_profile_merge.c): a profile parsed from text,
 * and a profile written in a format and read back. Each fails the test with
 * the library's message. Test-only; static functions so each test program
 * takes what it uses.
 */
#ifndef PROFILE_TEST_UTIL_H
#define PROFILE_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pp_test.h"

#include <postprof/postprof.h>

/* text (any format pp_profile_parse() reads) as a profile; fails the test if it does not parse */
static inline pp_profile *pt_profile_parse(const char *text)
{
    pp_profile *p = NULL;
    char msg[256] = "";
    int rc = pp_profile_parse(text, strlen(text), &p, msg, sizeof msg);
    if (rc != PP_OK)
        fail_msg("parse: %s (%s)", pp_strerror(rc), msg);
    return p;
}

/* p written in format to a temporary file and read back (p is kept) */
static inline pp_profile *pt_profile_through(const pp_profile *p, pp_profile_format format)
{
    char path[] = "/tmp/pp-test-profile-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char msg[256] = "";
    int rc = pp_profile_write(p, format, path, msg, sizeof msg);
    if (rc != PP_OK) {
        unlink(path);
        fail_msg("write (format %d): %s (%s)", (int)format, pp_strerror(rc), msg);
    }
    pp_profile *back = NULL;
    rc = pp_profile_read(path, &back, msg, sizeof msg);
    unlink(path);
    if (rc != PP_OK)
        fail_msg("read back (format %d): %s (%s)", (int)format, pp_strerror(rc), msg);
    return back;
}

#endif

/*
 * postprof/version.h - Library version.
 */
#ifndef POSTPROF_VERSION_H
#define POSTPROF_VERSION_H

#include <postprof/export.h>

#define PP_VERSION_MAJOR 0
#define PP_VERSION_MINOR 1
#define PP_VERSION_PATCH 0
#define PP_VERSION_STRING "0.1.0"

/* pp_version() - The version of the library actually linked, e.g. "0.1.0". */
PP_EXPORT const char *pp_version(void);

#endif

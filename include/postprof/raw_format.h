/*
 * postprof/raw_format.h - The raw profile: the one contract between the
 * programs that write it (libpostprof_preload.so at exit, _exit, exec and
 * fatal signals; `postprof record -p PID`) and the reader that symbolizes it
 * (pp_profile_load_raw()). Also the environment `postprof record` hands the
 * preload library. Macros only: the preload library includes this header and
 * links nothing but libc.
 *
 * Grammar (text, one record a line, '\n'-terminated; integers decimal unless
 * said otherwise, addresses lowercase hex without 0x):
 *
 *   PP_RAW_HEADER                  first line: magic and version
 *   pid PID
 *   reason WHY                     exit, _exit, exec, signal:N, or why an
 *                                  attached sampler stopped
 *   mode cpu|wall|mem
 *   period_ns N                    sampling period (cpu, wall)
 *   mem_rate N                     bytes between allocation samples (mem)
 *   timer TEXT, unwind TEXT        how samples were taken (informational)
 *   start_unix_ns N, start_mono_ns N, duration_ns N
 *   x KEY N                        a counter (samples, threads, ring_dropped ...)
 *   map LINE                       a file-backed line of /proc/PID/maps
 *   b BUILDID PATH                 the GNU build id of a loaded object
 *   vdso ADDR SIZE BUILDID         the target's vDSO (no file behind it; BUILDID
 *                                  "-" when unknown)
 *   t TID NAME                     a thread's name
 *   c T_NS RSS HEAP                one point of the memory series
 *   s TID FLAGS SAMPLES TICKS DEPTH PC...   a CPU stack (FLAGS bit 0: off-CPU),
 *                                  innermost frame first, the first PC exact
 *   m V0 V1 V2 V3 V4 V5 DEPTH PC...         an allocation stack (return
 *                                  addresses); V0..V5 the memory values
 *   end                            last line; a file without it is truncated
 *
 * Unknown lines are ignored, so a writer may add keys without a version bump;
 * a change to an existing line's meaning bumps PP_RAW_VERSION. DEPTH is at
 * most PP_RAW_MAX_DEPTH: writers cut deeper stacks, the reader rejects them.
 */
#ifndef POSTPROF_RAW_FORMAT_H
#define POSTPROF_RAW_FORMAT_H

/* The first line of every raw profile: magic, version, newline. */
#define PP_RAW_MAGIC "postprof-raw"
#define PP_RAW_VERSION 1
#define PP__RAW_STR(x) #x
#define PP__RAW_XSTR(x) PP__RAW_STR(x)
#define PP_RAW_HEADER PP_RAW_MAGIC " " PP__RAW_XSTR(PP_RAW_VERSION) "\n"

/* Most frames one stack record holds (writers cut, the reader rejects). */
#define PP_RAW_MAX_DEPTH 128

/* File name of a raw profile in the output directory: PID.SEQ.raw. */
#define PP_RAW_SUFFIX ".raw"

/*
 * The environment `postprof record` sets for the preload library (and for
 * the scope trace of a program linked with libpostprof).
 */
#define PP_RAW_ENV_DIR "POSTPROF_DIR"                   /* output directory: on when set */
#define PP_RAW_ENV_ROOT_PID "POSTPROF_ROOT_PID"         /* pid of the recorded command */
#define PP_RAW_ENV_HZ "POSTPROF_HZ"                     /* samples per second (99) */
#define PP_RAW_ENV_WALL "POSTPROF_WALL"                 /* 1: wall-clock sampling */
#define PP_RAW_ENV_MEM "POSTPROF_MEM"                   /* 1: allocation profile */
#define PP_RAW_ENV_MEM_RATE "POSTPROF_MEM_RATE"         /* bytes between samples */
#define PP_RAW_ENV_FOLLOW_FORKS "POSTPROF_FOLLOW_FORKS" /* 1: children too */
#define PP_RAW_ENV_FORCE_TIMER "POSTPROF_FORCE_TIMER"   /* 1: POSIX timers, not perf */
#define PP_RAW_ENV_UNWIND "POSTPROF_UNWIND"             /* "libunwind" or frame pointers */

#endif

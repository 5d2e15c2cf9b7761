/*
 * toy_workload.h - A tiny synthetic workload with known costs (a loader with
 * three sources, a preprocess step, a model, an LRU cache), driven by the
 * profilers in tests to prove they are not tied to the LinkedIn-posts
 * pipeline. Short CPU costs are loops of work calibrated once per process
 * (so they keep their ratios on a loaded machine and under sanitizers),
 * costs of 100 us and more spin on the thread's CPU clock; waits are sleeps.
 */
#ifndef PP_TOY_WORKLOAD_H
#define PP_TOY_WORKLOAD_H

#include <postprof/workload.h>

typedef struct toy toy;

/* toy_new() - A toy with default settings; NULL when out of memory. */
toy *toy_new(void);
void toy_free(toy *t);

/* toy_workload() - The pp_workload describing t (valid while t lives). */
void toy_workload(toy *t, pp_workload *out);

/* toy_set_wobble() - A machine whose speed varies: from now on each pass
 * runs every CPU cost (not the sleeps) 1 to 1 + pct/100 times as long,
 * drawn per pass from a fixed sequence; 0 turns it off. */
void toy_set_wobble(toy *t, unsigned pct);

/* Cache misses inside passes so far (each miss calls toy.model.predict). */
unsigned long toy_pass_misses(const toy *t);

/* Number of stage calls so far (to check the profilers drove it). */
unsigned long toy_calls(const toy *t, pp_stage stage);

/* Known costs, in microseconds. */
#define TOY_DB_US 1000        /* database batch (CPU work) */
#define TOY_FILE_US 300       /* file batch (sleeps) */
#define TOY_API_US 1500       /* api batch (sleeps: waiting) */
#define TOY_PASS_WINDOW 400   /* cache gets per pass: a window moving along the trace */
#define TOY_CONNECT_US 1000   /* extra per api batch without keep-alive (sleeps) */
#define TOY_PRE_US 600        /* preprocess, divided by threads */
#define TOY_INFER_FIXED_US 50 /* per inference call (toy.model.predict) */
#define TOY_INFER_ITEM_US 6   /* per item per model size; int8 halves it */
/* a cache miss calls toy.model.predict for one item (no fixed cost): the
 * int8 knob speeds up a site two stages use; the arena knob does nothing */
/* extra per op on the "remote" cache backend: 20 us, about 10x a local op, so
 * the backends' order (test_toy_end_to_end) holds whatever preempts one
 * replay more than the other (3 us, under 2x, lost it once at load 18) */
#define TOY_REMOTE_US 20
#define TOY_KEYS 500
#define TOY_TRACE 16000

#endif

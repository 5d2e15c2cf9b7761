/*
 * test_sample_weights.c - The CPU a sample stands for. The preloaded
 * profiler's (src/preload/ticks.h): whole periods of the thread's CPU
 * clock, the rest carried, whatever the task-clock ticks' spacing. An
 * attached thread's (src/capture/attach_weight.h): its samples' periods,
 * never more than the thread's CPU.
 */
#include <stdlib.h>

#include "pp_test.h"
#include "capture/attach_weight.h"
#include "preload/ticks.h"

#define MS 1000000ull
#define PERIOD (10 * MS)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t next_u64(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* a thread of cpu_ns CPU ticked every `every` ns of CPU: the periods its
 * samples carry, and the CPU left for its exit (pp__pl_timer_final) */
static uint64_t ticked(uint64_t cpu_ns, uint64_t every, uint64_t *samples, uint64_t *left)
{
    uint64_t last = 0, periods = 0;
    *samples = 0;
    for (uint64_t cpu = every; cpu <= cpu_ns; cpu += every) {
        uint64_t w = pp_pl_cpu_periods(cpu, &last, PERIOD);
        periods += w;
        *samples += w > 0;
    }
    *left = cpu_ns - last;
    return periods;
}

/* ticks early (the counter ran on steal): 8 ms threads ticked at 7 ms each
 * count nothing at their tick, their 8 ms at exit; a long thread ticked
 * every 7 ms counts its CPU, not a period a tick (rounding gave 10 ms per
 * 7 ms, 43 % over) */
static void early_ticks_count_the_cpu_not_the_ticks(void **state)
{
    (void)state;
    uint64_t samples, left;
    assert_int_equal(ticked(8 * MS, 7 * MS, &samples, &left), 0);
    assert_int_equal(samples, 0);
    assert_int_equal(left, 8 * MS);
    uint64_t p = ticked(700 * MS, 7 * MS, &samples, &left);
    assert_int_equal(p * PERIOD + left, 700 * MS);
    assert_int_equal(p, 70);
    assert_int_equal(left, 0);
    assert_int_equal(samples, 70); /* 100 ticks, 70 of them samples */
}

/* ticks on time: a period each */
static void ticks_on_time_carry_a_period_each(void **state)
{
    (void)state;
    uint64_t samples, left;
    uint64_t p = ticked(1000 * MS + 5 * MS, PERIOD + 1000, &samples, &left);
    assert_int_equal(p, 100);
    assert_int_equal(samples, 100);
    assert_int_equal(left, 5 * MS);
}

/* a late tick (the thread ran 35 ms between ticks): three periods, 5 ms carried */
static void a_late_tick_carries_what_it_covered(void **state)
{
    (void)state;
    uint64_t last = 0;
    assert_int_equal(pp_pl_cpu_periods(35 * MS, &last, PERIOD), 3);
    assert_int_equal(last, 30 * MS);
    assert_int_equal(pp_pl_cpu_periods(41 * MS, &last, PERIOD), 1);
    assert_int_equal(last, 40 * MS);
    /* a clock read at or before the last one, or no period: nothing */
    assert_int_equal(pp_pl_cpu_periods(40 * MS, &last, PERIOD), 0);
    assert_int_equal(pp_pl_cpu_periods(39 * MS, &last, PERIOD), 0);
    assert_int_equal(pp_pl_cpu_periods(90 * MS, &last, 0), 0);
    assert_int_equal(last, 40 * MS);
}

/* ticks at random spacing (0.3 to 3 periods): the samples carry every whole
 * period of the thread's CPU, and less than a period is left */
static void random_spacing_loses_and_adds_nothing(void **state)
{
    (void)state;
    for (int trial = 0; trial < 200; trial++) {
        uint64_t last = 0, cpu = 0, periods = 0;
        int ticks = 1 + (int)(next_u64() % 500);
        for (int i = 0; i < ticks; i++) {
            cpu += 3 * MS + next_u64() % (27 * MS);
            periods += pp_pl_cpu_periods(cpu, &last, PERIOD);
        }
        assert_int_equal(periods * PERIOD + (cpu - last), cpu);
        assert_true(cpu - last < PERIOD);
    }
}

/* one drain of k samples of PERIOD each, the thread's CPU since sampling
 * began cpu (known): the ticks they carry */
static uint64_t drained(int k, uint64_t cpu, int known, uint64_t *given, uint64_t *carry)
{
    pp__attach_drain d = {.periods_ns = (uint64_t)k * PERIOD};
    d.drain_ns = pp__attach_drain_ns(d.periods_ns, cpu, known, given);
    uint64_t ticks = 0;
    for (int i = 0; i < k; i++)
        ticks += pp__attach_sample_ticks(&d, PERIOD, PERIOD, carry);
    assert_int_equal(d.shared_ns, d.drain_ns);
    return ticks;
}

/* attached: the samples share the thread's CPU, the part of a tick
 * carried; ticks the kernel dropped (the thread in the kernel) lose no CPU */
static void attached_samples_share_the_threads_cpu(void **state)
{
    (void)state;
    uint64_t given = 0, carry = 0;
    assert_int_equal(drained(10, 103 * MS, 1, &given, &carry), 10);
    assert_int_equal(given, 103 * MS);
    assert_int_equal(carry, 3 * MS);
    assert_int_equal(drained(1, 110 * MS, 1, &given, &carry), 1);
    assert_int_equal(carry, 0);
    /* 9 samples for 100 ms of CPU (a tick dropped): 10 ticks */
    assert_int_equal(drained(9, 210 * MS, 1, &given, &carry), 10);
    /* a drain without samples gives nothing; its CPU goes with the next */
    assert_int_equal(drained(0, 240 * MS, 1, &given, &carry), 0);
    assert_int_equal(given, 210 * MS);
    assert_int_equal(drained(1, 240 * MS, 1, &given, &carry), 3);
    /* the CPU clock unreadable: the periods stand */
    assert_int_equal(drained(4, 0, 0, &given, &carry), 4);
}

/* attached under steal: 10 samples while the thread ran 70 ms carry 7
 * ticks, not 10; the next drain's CPU is the thread's again */
static void attached_samples_never_carry_more_than_the_cpu(void **state)
{
    (void)state;
    uint64_t given = 0, carry = 0;
    assert_int_equal(drained(10, 70 * MS, 1, &given, &carry), 7);
    assert_int_equal(given, 70 * MS);
    assert_int_equal(drained(10, 170 * MS, 1, &given, &carry), 10);
    assert_int_equal(drained(5, 170 * MS, 1, &given, &carry), 0); /* no CPU since */
    /* random drains, steal up to half the counter's time: the ticks never
     * stand for more than the thread's CPU, and what they stand for plus
     * the carry is all the CPU the drains gave */
    for (int trial = 0; trial < 200; trial++) {
        uint64_t cpu = 0, ticks = 0;
        given = carry = 0;
        int drains = 1 + (int)(next_u64() % 50);
        for (int i = 0; i < drains; i++) {
            int k = (int)(next_u64() % 8);
            cpu += (uint64_t)k * PERIOD / 2 + next_u64() % ((uint64_t)k * PERIOD / 2 + 1);
            ticks += drained(k, cpu, 1, &given, &carry);
        }
        assert_true(ticks * PERIOD <= cpu);
        assert_true(ticks * PERIOD + carry == given);
    }
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(early_ticks_count_the_cpu_not_the_ticks),
    cmocka_unit_test(ticks_on_time_carry_a_period_each),
    cmocka_unit_test(a_late_tick_carries_what_it_covered),
    cmocka_unit_test(random_spacing_loses_and_adds_nothing),
    cmocka_unit_test(attached_samples_share_the_threads_cpu),
    cmocka_unit_test(attached_samples_never_carry_more_than_the_cpu),
};
PP_TEST_MAIN(tests)

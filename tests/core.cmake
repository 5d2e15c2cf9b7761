# Tests of the foundation: common layer, capture, snapshots, build artefacts.
pp_add_unit_test(NAME histogram SOURCES unit/test_histogram.c LIBS postprof_static m)
pp_add_unit_test(NAME file SOURCES unit/test_file.c LIBS postprof_static Threads::Threads)
pp_add_unit_test(NAME scope SOURCES unit/test_scope.c LIBS postprof_static m)
# the CLOCK_MONOTONIC fallback (no invariant TSC), forced
foreach(case clock_source_as_configured busy_wait_within_1pct nesting_gives_parent_and_self)
  add_test(NAME scope_monotonic.${case} COMMAND test_scope ${case})
  set_tests_properties(scope_monotonic.${case} PROPERTIES ENVIRONMENT POSTPROF_CLOCK=monotonic
    FAIL_REGULAR_EXPRESSION "\\] 0 test\\(s\\) run")
endforeach()
pp_add_unit_test(NAME threads SOURCES unit/test_threads.c LIBS postprof_static LABELS threaded TIMEOUT 300)
pp_add_unit_test(NAME memory SOURCES unit/test_memory.c LIBS postprof_malloc_obj postprof_static)
set_tests_properties(memory.per_thread_attribution PROPERTIES LABELS "memory;threaded")
pp_add_unit_test(NAME instrument SOURCES unit/test_instrument.c unit/instrumented_code.c
                 LIBS postprof_instrument postprof_static)
set_source_files_properties(unit/instrumented_code.c PROPERTIES COMPILE_OPTIONS "-finstrument-functions;-O1;-fno-inline")
pp_add_script_test(NAME cli.contract COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/cli_test.sh $<TARGET_FILE:postprof>)
# needs a build without sanitizers (an outside program links the installed library)
if(NOT PP_SANITIZE)
  pp_add_script_test(NAME install.outside_program
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/install_test.sh ${PROJECT_BINARY_DIR}
            ${CMAKE_CURRENT_SOURCE_DIR}/integration/outside
    LABELS plain)
  # the real interposer (sanitizer builds count through the sanitizer's hooks)
  set_tests_properties(memory.accounting_is_active memory.memory_scope_sees_exact_bytes
    memory.nested_memory_scopes memory.realloc_and_memalign_family memory.rss_is_read
    PROPERTIES LABELS "memory;plain")
  set_tests_properties(memory.per_thread_attribution PROPERTIES LABELS "memory;threaded;plain")
  # sanitizer builds start 2 000 short threads (test_threads.c): the 10 000 here
  set_tests_properties(threads.ten_thousand_threads_leak_nothing PROPERTIES LABELS "threaded;plain")
  # postprof links the accounting; `record --mem` on postprof itself still sees its allocations
  pp_add_script_test(NAME memory.record_mem_on_postprof
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/scripts/record_postprof_mem.sh $<TARGET_FILE:postprof>
    LABELS memory plain TIMEOUT 120
    ENV "POSTPROF_PRELOAD=$<TARGET_FILE:postprof_preload>")
endif()
pp_add_unit_test(NAME compiled_out SOURCES unit/test_compiled_out.c LIBS postprof_static)
target_compile_definitions(test_compiled_out PRIVATE PP_DISABLE_INSTRUMENTATION)
# the object must not call into the scope API at all
add_test(NAME compiled_out.no_scope_calls
  COMMAND sh -c "! nm -u $<TARGET_OBJECTS:test_compiled_out> | grep -E 'pp_scope_begin|pp_async_begin|pp_progress_hit'")
pp_add_unit_test(NAME crash SOURCES unit/test_crash.c LIBS postprof_static)
pp_add_fuzz(NAME crash_report SOURCES fuzz/fuzz_crash_report.c LIBS postprof_static)
add_executable(crasher helpers/crasher.c)
target_link_libraries(crasher PRIVATE postprof_static)
pp_add_script_test(NAME crash.sentry_cli
  COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/integration/crash_sentry_cli.py
          $<TARGET_FILE:postprof> $<TARGET_FILE:crasher>
  LABELS crash TIMEOUT 120)

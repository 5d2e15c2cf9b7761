# Causal profiling (issue 13, docs/causal.md): progress points, the
# experiment log and causal.json, and, in the plain Release build only (no
# accuracy judgement under sanitizers, and the LD_PRELOAD shim cannot go
# before a sanitizer runtime), predictions against really measured gains.
pp_add_unit_test(NAME causal SOURCES unit/test_causal.c LIBS postprof_static LABELS threaded)
pp_add_fuzz(NAME causal SOURCES fuzz/fuzz_causal.c LIBS postprof_static)
pp_add_unit_test(NAME causal_report SOURCES unit/test_causal_report.c LIBS postprof_static)
add_executable(causal_truth causal/causal_truth.c)
target_link_libraries(causal_truth PRIVATE postprof_static)
target_include_directories(causal_truth PRIVATE ${PROJECT_SOURCE_DIR}/src)
# the real gain of a stage of the posts pipeline (POSTS_SLOW_PREPROCESS)
add_executable(causal_pipeline_truth causal/pipeline_truth.c)
target_link_libraries(causal_pipeline_truth PRIVATE posts postprof_static)
target_include_directories(causal_pipeline_truth PRIVATE ${PROJECT_SOURCE_DIR}/src)
# The predictions are judged against real gains measured in the same run with
# their 95 % intervals (docs/causal.md, Accuracy); `make bench` prints the
# same errors. They run at real-time priority and take turns machine-wide
# (causal_truth.py, take_turns): the timeout covers a wait for another
# build tree's accuracy test on the same machine, never needed in one suite.
if(NOT PP_SANITIZE)
  pp_add_script_test(NAME causal.truth
    COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/causal/causal_truth.py --check
            $<TARGET_FILE:postprof> $<TARGET_FILE:causal_truth> ${CMAKE_CURRENT_BINARY_DIR}/causal_truth_work
    LABELS "causal;plain" TIMEOUT 2400
    ENV "POSTPROF_CAUSAL_SHIM=$<TARGET_FILE:postprof_causal>")
  # the same program whose main thread waits for its workers on mutexes
  # (the shim's pthread_mutex_lock wrapper must tell that wait from work)
  pp_add_script_test(NAME causal.truth_mutex
    COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/causal/causal_truth.py --check
            $<TARGET_FILE:postprof> $<TARGET_FILE:causal_truth> ${CMAKE_CURRENT_BINARY_DIR}/causal_truth_mutex_work
            --sync mutex
    LABELS "causal;plain" TIMEOUT 2400
    ENV "POSTPROF_CAUSAL_SHIM=$<TARGET_FILE:postprof_causal>")
  # alone: tests running beside them on every core would stretch their
  # stages' wake-ups, which the real and the virtual speedups see differently
  # preload mode: the same program built with -finstrument-functions and
  # without libpostprof (its own copy of the statistics for measuring the real
  # gains), the runtime preloaded by `postprof causal --preload`
  add_executable(causal_truth_preload causal/causal_truth.c ${PROJECT_SOURCE_DIR}/src/analyze/stats.c)
  target_compile_options(causal_truth_preload PRIVATE -finstrument-functions)
  target_compile_definitions(causal_truth_preload PRIVATE PP_DISABLE_INSTRUMENTATION)
  target_include_directories(causal_truth_preload PRIVATE ${PROJECT_SOURCE_DIR}/src
                             ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(causal_truth_preload PRIVATE Threads::Threads m)
  pp_add_script_test(NAME causal.truth_preload
    COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/causal/causal_truth.py --check
            $<TARGET_FILE:postprof> $<TARGET_FILE:causal_truth_preload> ${CMAKE_CURRENT_BINARY_DIR}/causal_truth_preload_work
            --preload
    LABELS "causal;plain" TIMEOUT 2400
    ENV "POSTPROF_CAUSAL_SHIM=$<TARGET_FILE:postprof_causal>;POSTPROF_CAUSAL_PRELOAD=$<TARGET_FILE:postprof_causal_preload>")
  # a latency point (PP_LATENCY around each iteration, one at a time: the
  # same real gains) instead of the progress rate
  pp_add_script_test(NAME causal.truth_latency
    COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/causal/causal_truth.py --check
            $<TARGET_FILE:postprof> $<TARGET_FILE:causal_truth> ${CMAKE_CURRENT_BINARY_DIR}/causal_truth_latency_work
            --latency
    LABELS "causal;plain" TIMEOUT 2400
    ENV "POSTPROF_CAUSAL_SHIM=$<TARGET_FILE:postprof_causal>")
  # the run's causal phase against real speedups of the posts pipeline's
  # preprocess and inference (POSTS_SLOW_PREPROCESS, POSTS_SLOW_INFER)
  pp_add_script_test(NAME causal.pipeline_truth
    COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/causal/causal_pipeline.py --check
            $<TARGET_FILE:postprof> $<TARGET_FILE:causal_pipeline_truth> ${CMAKE_CURRENT_BINARY_DIR}/causal_pipeline_work
    LABELS "causal;plain" TIMEOUT 2400
    ENV "POSTPROF_CAUSAL_SHIM=$<TARGET_FILE:postprof_causal>")
  # ... with the loads overlapping the rest (--concurrent-load)
  pp_add_script_test(NAME causal.pipeline_truth_concurrent
    COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/causal/causal_pipeline.py --check
            $<TARGET_FILE:postprof> $<TARGET_FILE:causal_pipeline_truth> ${CMAKE_CURRENT_BINARY_DIR}/causal_pipeline_concurrent_work
            --concurrent
    LABELS "causal;plain" TIMEOUT 2400
    ENV "POSTPROF_CAUSAL_SHIM=$<TARGET_FILE:postprof_causal>")
  set_tests_properties(causal.truth causal.truth_mutex causal.truth_preload causal.truth_latency
                       causal.pipeline_truth causal.pipeline_truth_concurrent
                       PROPERTIES RUN_SERIAL TRUE)
endif()
# the CLI in every build; under a sanitizer without the shim (it cannot be
# preloaded before the sanitizer's runtime)
if(PP_SANITIZE)
  set(pp_causal_shim_env "POSTPROF_CAUSAL_SHIM=/nonexistent/libpostprof_causal.so")
else()
  set(pp_causal_shim_env "POSTPROF_CAUSAL_SHIM=$<TARGET_FILE:postprof_causal>")
endif()
pp_add_script_test(NAME causal.cli
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/causal/causal_cli_test.sh
          $<TARGET_FILE:postprof> $<TARGET_FILE:causal_truth> ${CMAKE_CURRENT_BINARY_DIR}/causal_cli_work
  LABELS "causal" TIMEOUT 600 ENV "${pp_causal_shim_env}")
# `postprof run`'s causal phase and its report section (Release: two whole
# runs took 408 s under ASan on a loaded 2-core machine; run.end_to_end checks
# the section against the schema in every build)
if(NOT PP_SANITIZE)
  pp_add_script_test(NAME causal.run
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/causal/causal_run_test.sh
            $<TARGET_FILE:postprof> ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/causal_run_work
    LABELS "causal;run;plain" TIMEOUT 600 ENV "${pp_causal_shim_env}")
endif()

# `postprof run` end to end (issue 5): console, report.json schema, --apply,
# config and output-path errors.
pp_add_script_test(NAME run.end_to_end
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/run_test.sh $<TARGET_FILE:postprof>
          ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/run_test
  # a hang only: 35-125 s under ASan beside four other suites, 496 s once and
  # past 600 s once at load ~15 (its experiments' passes are what slows)
  LABELS "run;plain" TIMEOUT 1800)
# with a real Redis: both cache backends side by side (Release build only: a
# few thousand round trips take long under the sanitizers)
if(NOT PP_SANITIZE)
  pp_add_script_test(NAME run.redis_side_by_side
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/run_redis_test.sh $<TARGET_FILE:postprof>
            ${CMAKE_CURRENT_BINARY_DIR}/run_redis_test
    LABELS "run;plain" TIMEOUT 300)
endif()

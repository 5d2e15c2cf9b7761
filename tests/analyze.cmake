# The analyze layer (pure), the config parser, the report writers/reader, and
# the profilers driven end to end over a toy workload.
pp_add_unit_test(NAME analyze SOURCES unit/test_analyze.c LIBS postprof_static)
pp_add_unit_test(NAME stats SOURCES unit/test_stats.c LIBS postprof_static)
pp_add_unit_test(NAME predict SOURCES unit/test_predict.c LIBS postprof_static)
pp_add_unit_test(NAME config SOURCES unit/test_config.c LIBS postprof_static)
pp_add_unit_test(NAME profilers SOURCES unit/test_profilers.c unit/toy_workload.c LIBS postprof_static LABELS threaded)
add_executable(toy_report tools/toy_report.c unit/toy_workload.c)
target_include_directories(toy_report PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
target_link_libraries(toy_report PRIVATE postprof_static)
pp_add_unit_test(NAME report SOURCES unit/test_report.c LIBS postprof_static)
# per-operation on-CPU time and allocations, and "not measured" (malloc accounting linked, as in postprof)
pp_add_unit_test(NAME op_figures SOURCES unit/test_op_figures.c
                 LIBS postprof_malloc_obj postprof_static PkgConfig::JANSSON)
# the toy workload's report (with --apply) against docs/report-schema.md
pp_add_script_test(NAME report_schema.toy
  COMMAND sh -c "$<TARGET_FILE:toy_report> ${CMAKE_CURRENT_BINARY_DIR}/toy_report.json --apply > ${CMAKE_CURRENT_BINARY_DIR}/toy_console.txt && python3 ${PROJECT_SOURCE_DIR}/tests/scripts/check_report_schema.py ${PROJECT_SOURCE_DIR}/docs/report-schema.md ${CMAKE_CURRENT_BINARY_DIR}/toy_report.json ${CMAKE_CURRENT_BINARY_DIR}/toy_console.txt"
  LABELS threaded TIMEOUT 120)
# a report whose --apply ran at another speed of the machine (judged by the
# predictions made again there) against the schema and its consistency rules
pp_add_script_test(NAME report_schema.apply_at_speed
  COMMAND python3 ${PROJECT_SOURCE_DIR}/tests/scripts/check_report_schema.py ${PROJECT_SOURCE_DIR}/docs/report-schema.md
          ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/report_json/apply_at_speed.json
  TIMEOUT 60)
pp_add_fuzz(NAME report_json SOURCES fuzz/fuzz_report_json.c LIBS postprof_static)
pp_add_fuzz(NAME config_ini SOURCES fuzz/fuzz_config_ini.c LIBS postprof_static)
pp_add_script_test(NAME compare.exit_codes
  COMMAND sh ${PROJECT_SOURCE_DIR}/tests/scripts/compare_test.sh $<TARGET_FILE:postprof>
          ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/report_json/pipeline_quick.json ${CMAKE_CURRENT_BINARY_DIR}/compare_test
  TIMEOUT 300) # ~5 s of CPU; 54 s of wall time under ASan at load 25
# predictions against the toy workload's analytic truth: timing-based, so on
# the plain Release build only (not under a sanitizer)
if(NOT PP_SANITIZE)
  pp_add_unit_test(NAME truth SOURCES unit/test_truth.c unit/toy_workload.c LIBS postprof_static
    LABELS plain TIMEOUT 300)
  # alone: the plain tests beside it (record's CPU burners) stretched one
  # setting's passes more than the other's (int8 measured 1.09x for 1.19x)
  set_tests_properties(truth.test_predictions_hold_the_truth PROPERTIES RUN_SERIAL TRUE)
endif()
# `postprof diff`: the analysis (injected difference on top, any format) and its page
pp_add_unit_test(NAME profile_diff SOURCES unit/test_profile_diff.c LIBS postprof_static)
pp_add_script_test(NAME diff.cli
  COMMAND sh ${PROJECT_SOURCE_DIR}/tests/scripts/diff_test.sh $<TARGET_FILE:postprof> ${CMAKE_CURRENT_BINARY_DIR}/diff_test
  TIMEOUT 60)
pp_add_fuzz(NAME cpuinfo SOURCES fuzz/fuzz_cpuinfo.c LIBS postprof_static)
# `postprof compare`: the decision on synthetic runs, comparability
pp_add_unit_test(NAME compare SOURCES unit/test_compare.c LIBS postprof_static)
# `postprof take-turns` (the CI gate's recipe): strict turns, exit codes, runs taking one turn per pass
pp_add_script_test(NAME compare.take_turns
  COMMAND sh ${PROJECT_SOURCE_DIR}/tests/scripts/take_turns_test.sh $<TARGET_FILE:postprof>
          ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/take_turns_test
  TIMEOUT 300)

# The analyze layer (pure), the config parser, the report writers/reader, and
# the profilers driven end to end over a toy workload.
pp_add_unit_test(NAME analyze SOURCES unit/test_analyze.c LIBS postprof_static)
pp_add_unit_test(NAME config SOURCES unit/test_config.c LIBS postprof_static)
pp_add_unit_test(NAME profilers SOURCES unit/test_profilers.c unit/toy_workload.c LIBS postprof_static LABELS threaded)
add_executable(toy_report tools/toy_report.c unit/toy_workload.c)
target_include_directories(toy_report PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
target_link_libraries(toy_report PRIVATE postprof_static)

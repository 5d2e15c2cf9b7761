# The analyze layer (pure), the config parser, the report writers/reader, and
# the profilers driven end to end over a toy workload.
pp_add_unit_test(NAME analyze SOURCES unit/test_analyze.c LIBS postprof_static)

# Tests of the foundation: common layer, capture, snapshots, build artefacts.
pp_add_unit_test(NAME histogram SOURCES unit/test_histogram.c LIBS postprof_static m)
pp_add_unit_test(NAME scope SOURCES unit/test_scope.c LIBS postprof_static m)
pp_add_unit_test(NAME threads SOURCES unit/test_threads.c LIBS postprof_static LABELS threaded TIMEOUT 300)

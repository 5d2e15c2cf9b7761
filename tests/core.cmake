# Tests of the foundation: common layer, capture, snapshots, build artefacts.
pp_add_unit_test(NAME histogram SOURCES unit/test_histogram.c LIBS postprof_static m)
pp_add_unit_test(NAME scope SOURCES unit/test_scope.c LIBS postprof_static m)
pp_add_unit_test(NAME threads SOURCES unit/test_threads.c LIBS postprof_static LABELS threaded TIMEOUT 300)
pp_add_unit_test(NAME memory SOURCES unit/test_memory.c LIBS postprof_malloc_obj postprof_static LABELS threaded)
pp_add_unit_test(NAME instrument SOURCES unit/test_instrument.c unit/instrumented_code.c
                 LIBS postprof_instrument postprof_static)
set_source_files_properties(unit/instrumented_code.c PROPERTIES COMPILE_OPTIONS "-finstrument-functions;-O1;-fno-inline")

# Fuzz harnesses of the record/top parsers (corpora replayed by ctest).
pp_add_fuzz(NAME profile SOURCES fuzz/fuzz_profile.c LIBS postprof_static)
pp_add_fuzz(NAME rawprof SOURCES fuzz/fuzz_rawprof.c LIBS postprof_static)

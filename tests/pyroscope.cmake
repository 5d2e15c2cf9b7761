# Profiles to a cluster (issue 15, docs/pyroscope.md): `postprof merge`, and
# the pushes to Pyroscope's /ingest. The pprof files are decoded by npm
# pprof-format (pinned in tests/pyroscope/package-lock.json), installed like
# the browser tests' packages.
pp_add_unit_test(NAME profile_merge SOURCES unit/test_profile_merge.c LIBS postprof_static)
set(PP_PYRO_DIR ${CMAKE_CURRENT_BINARY_DIR}/pyroscope)
set(PP_PYRO_SRC ${CMAKE_CURRENT_SOURCE_DIR}/pyroscope)
pp_add_script_test(NAME pyroscope.setup
  COMMAND bash ${PP_PYRO_SRC}/setup.sh ${PP_PYRO_DIR} LABELS pyroscope TIMEOUT 300)
pp_add_script_test(NAME merge.cli
  COMMAND bash ${PP_PYRO_SRC}/merge_test.sh $<TARGET_FILE:postprof> $<TARGET_FILE:work_shares>
          ${PP_PYRO_DIR}/merge_test
  LABELS pyroscope ENV PP_PYROSCOPE_DEPS=${PP_PYRO_DIR}
  "POSTPROF_PRELOAD=$<TARGET_FILE:postprof_preload>")
set_tests_properties(pyroscope.setup PROPERTIES FIXTURES_SETUP pyroscope SKIP_RETURN_CODE 77)
set_tests_properties(merge.cli PROPERTIES FIXTURES_REQUIRED pyroscope)
# `postprof record --push` against a Pyroscope-style receiver (accepted,
# refused, 503 Retry-After, unreachable, bad labels)
pp_add_script_test(NAME pyroscope.record_push
  COMMAND node ${PP_PYRO_SRC}/pyroscope_receiver.cjs record $<TARGET_FILE:postprof>
          $<TARGET_FILE:work_shares> ${PP_PYRO_DIR}/record_push
  LABELS pyroscope ENV PP_PYROSCOPE_DEPS=${PP_PYRO_DIR}
  "POSTPROF_PRELOAD=$<TARGET_FILE:postprof_preload>")
# POSTPROF_PUSH_URL in a program linking libpostprof: intervals pushed every
# second, a 503 retried, a 400 counted and never retried, the flush at exit
add_executable(push_peer pyroscope/push_peer.c)
target_link_libraries(push_peer PRIVATE postprof_static)
# (label threaded: CI runs it under ThreadSanitizer too)
pp_add_script_test(NAME pyroscope.continuous_push
  COMMAND node ${PP_PYRO_SRC}/pyroscope_receiver.cjs continuous $<TARGET_FILE:push_peer>
  LABELS pyroscope threaded ENV PP_PYROSCOPE_DEPS=${PP_PYRO_DIR})
set_tests_properties(pyroscope.record_push pyroscope.continuous_push PROPERTIES
  FIXTURES_REQUIRED pyroscope)
pp_add_fuzz(NAME push_query SOURCES fuzz/fuzz_push_query.c LIBS postprof_static)

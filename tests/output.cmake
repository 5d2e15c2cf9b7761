# Where output goes (docs/reports.md): special output paths, stale temporary
# files, and write errors (standard output on /dev/full, record -o into a
# missing directory, a read-only mount, a full disk). The helper itself is
# tested by test_file (core.cmake).
pp_add_script_test(NAME output.paths
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/scripts/output_paths_test.sh $<TARGET_FILE:postprof>
          $<TARGET_FILE:toy_report> $<TARGET_FILE:work_shares>
          ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/crash_report/basic.txt
  LABELS output TIMEOUT 180 ENV "POSTPROF_PRELOAD=$<TARGET_FILE:postprof_preload>")

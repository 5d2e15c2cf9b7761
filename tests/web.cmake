# HTML report, live dashboard and their browser tests (issue 7).
pp_add_unit_test(NAME report_html SOURCES unit/test_report_html.c LIBS postprof_static)

# Headless chromium (Debian's) driven by playwright-core pinned in
# tests/browser/package-lock.json; screenshots land in the build directory.
set(PP_BROWSER_DIR ${CMAKE_CURRENT_BINARY_DIR}/browser)
set(PP_BROWSER_SRC ${CMAKE_CURRENT_SOURCE_DIR}/browser)
add_executable(dash_peer helpers/dash_peer.c)
target_link_libraries(dash_peer PRIVATE postprof_static)
pp_add_script_test(NAME browser.setup
  COMMAND bash ${PP_BROWSER_SRC}/setup.sh ${PP_BROWSER_DIR} LABELS browser TIMEOUT 300)
pp_add_script_test(NAME browser.report
  COMMAND sh -c "$<TARGET_FILE:toy_report> ${PP_BROWSER_DIR}/toy_report.json --apply > /dev/null && $<TARGET_FILE:postprof> report ${PP_BROWSER_DIR}/toy_report.json --html ${PP_BROWSER_DIR}/report.html --profile ${PP_BROWSER_SRC}/sample.folded && node ${PP_BROWSER_SRC}/browser_test.cjs report ${PP_BROWSER_DIR}/report.html ${PP_BROWSER_DIR}/toy_report.json ${PP_BROWSER_DIR} && $<TARGET_FILE:toy_report> ${PP_BROWSER_DIR}/toy_plain.json > /dev/null && $<TARGET_FILE:postprof> report ${PP_BROWSER_DIR}/toy_plain.json && node ${PP_BROWSER_SRC}/browser_test.cjs report-noprofile ${PP_BROWSER_DIR}/toy_plain.html ${PP_BROWSER_DIR}/toy_plain.json ${PP_BROWSER_DIR}"
  # a hang only: two toy profiles under ASan, 40-140 s beside four other
  # suites, 347 s once and past 600 s once at load ~15
  LABELS browser TIMEOUT 1800 ENV PP_BROWSER_DEPS=${PP_BROWSER_DIR})
pp_add_script_test(NAME browser.dashboard
  COMMAND node ${PP_BROWSER_SRC}/browser_test.cjs dashboard $<TARGET_FILE:dash_peer> ${PP_BROWSER_DIR}
  LABELS browser TIMEOUT 180 ENV PP_BROWSER_DEPS=${PP_BROWSER_DIR})
pp_add_script_test(NAME browser.dashboard_token
  COMMAND node ${PP_BROWSER_SRC}/browser_test.cjs dashboard-token $<TARGET_FILE:dash_peer> ${PP_BROWSER_DIR}
  LABELS browser TIMEOUT 180 ENV PP_BROWSER_DEPS=${PP_BROWSER_DIR})
# `postprof report --causal` (docs/causal.md)
pp_add_script_test(NAME browser.causal
  COMMAND sh -c "$<TARGET_FILE:postprof> report --causal ${PP_BROWSER_SRC}/sample_causal.json --html ${PP_BROWSER_DIR}/causal.html && node ${PP_BROWSER_SRC}/browser_test.cjs causal ${PP_BROWSER_DIR}/causal.html ${PP_BROWSER_SRC}/sample_causal.json ${PP_BROWSER_DIR}"
  LABELS browser TIMEOUT 180 ENV PP_BROWSER_DEPS=${PP_BROWSER_DIR})
# a report with a causal section (`postprof run`'s causal phase, docs/causal.md)
pp_add_script_test(NAME browser.report_causal
  COMMAND sh -c "$<TARGET_FILE:postprof> report ${PP_BROWSER_SRC}/sample_report_causal.json --html ${PP_BROWSER_DIR}/report_causal.html && node ${PP_BROWSER_SRC}/browser_test.cjs report-noprofile ${PP_BROWSER_DIR}/report_causal.html ${PP_BROWSER_SRC}/sample_report_causal.json ${PP_BROWSER_DIR}"
  LABELS browser TIMEOUT 180 ENV PP_BROWSER_DEPS=${PP_BROWSER_DIR})
# a report whose --apply's passes took longer on one CPU, and whose cache
# has two backends (each against the current one, replays interleaved)
pp_add_script_test(NAME browser.report_cpus
  COMMAND sh -c "$<TARGET_FILE:postprof> report ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/report_json/apply_at_speed.json --html ${PP_BROWSER_DIR}/report_cpus.html && node ${PP_BROWSER_SRC}/browser_test.cjs report-noprofile ${PP_BROWSER_DIR}/report_cpus.html ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/report_json/apply_at_speed.json ${PP_BROWSER_DIR}"
  LABELS browser TIMEOUT 180 ENV PP_BROWSER_DEPS=${PP_BROWSER_DIR})
set_tests_properties(browser.setup PROPERTIES FIXTURES_SETUP browser SKIP_RETURN_CODE 77)
set_tests_properties(browser.report browser.report_causal browser.report_cpus browser.causal browser.dashboard browser.dashboard_token PROPERTIES FIXTURES_REQUIRED browser
  RESOURCE_LOCK browser SKIP_RETURN_CODE 77)
# the report CLI: clear errors for malformed input, atomic output
pp_add_script_test(NAME report_html.cli
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/scripts/report_cli_test.sh $<TARGET_FILE:postprof>
          $<TARGET_FILE:toy_report> ${PP_BROWSER_SRC}/sample.folded $<TARGET_FILE:work_shares>
  LABELS report_html TIMEOUT 120 ENV "POSTPROF_PRELOAD=$<TARGET_FILE:postprof_preload>")
pp_add_fuzz(NAME flame_folded LIBS postprof_static
  SOURCES fuzz/fuzz_flame_folded.c ${PROJECT_SOURCE_DIR}/src/export/report/flame_folded.c
          ${PROJECT_SOURCE_DIR}/src/common/strbuf.c)
# `postprof serve` serves the dashboard beside its built-in paths
pp_add_script_test(NAME report_html.dashboard_serve
  COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/integration/dashboard_serve.py $<TARGET_FILE:postprof>
  LABELS report_html TIMEOUT 120)

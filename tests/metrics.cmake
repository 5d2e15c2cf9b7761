# Metrics, HTTP server, system and GPU stats (issue 3).
pp_add_unit_test(NAME registry SOURCES unit/test_registry.c LIBS postprof_static LABELS threaded)
pp_add_unit_test(NAME sysstats SOURCES unit/test_sysstats.c LIBS postprof_static LABELS threaded)

# A stand-in libnvidia-ml.so.1 (the real entry points and return codes), in
# its own directory so LD_LIBRARY_PATH finds it and nothing else.
add_library(nvml_stub SHARED nvml_stub/nvml_stub.c)
set_target_properties(nvml_stub PROPERTIES OUTPUT_NAME nvidia-ml PREFIX lib SUFFIX .so.1
  C_VISIBILITY_PRESET hidden LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/nvml_stub)
pp_add_unit_test(NAME gpu SOURCES unit/test_gpu.c LIBS postprof_static PkgConfig::JANSSON
  LABELS threaded
  ENV LD_LIBRARY_PATH=${CMAKE_CURRENT_BINARY_DIR}/nvml_stub)
add_dependencies(test_gpu nvml_stub)
# test_gpu_real: without the stub (a real NVML if the machine has one)
set_tests_properties(gpu.test_gpu_real PROPERTIES ENVIRONMENT "")
pp_add_unit_test(NAME http SOURCES unit/test_http.c
  LIBS postprof_static PkgConfig::CURL PkgConfig::JANSSON PkgConfig::ZLIB LABELS threaded)
pp_add_unit_test(NAME http_guard SOURCES unit/test_http_guard.c LIBS postprof_static
  LABELS threaded)

# Integration tests with real peers: promtool, a Prometheus server, load, abuse.
add_executable(metrics_peer helpers/metrics_peer.c)
target_link_libraries(metrics_peer PRIVATE postprof_static)
set(PP_METRICS_IT ${CMAKE_CURRENT_SOURCE_DIR}/integration)
pp_add_script_test(NAME metrics.promtool
  COMMAND python3 ${PP_METRICS_IT}/metrics_promtool.py $<TARGET_FILE:metrics_peer> $<TARGET_FILE:postprof>
  LABELS metrics TIMEOUT 120)
pp_add_script_test(NAME metrics.prometheus
  COMMAND python3 ${PP_METRICS_IT}/metrics_prometheus.py $<TARGET_FILE:metrics_peer>
  LABELS metrics TIMEOUT 180)
pp_add_script_test(NAME metrics.load
  COMMAND python3 ${PP_METRICS_IT}/metrics_load.py $<TARGET_FILE:metrics_peer>
  LABELS "metrics;threaded" TIMEOUT 600)
pp_add_script_test(NAME metrics.abuse
  COMMAND python3 ${PP_METRICS_IT}/metrics_abuse.py $<TARGET_FILE:metrics_peer>
  LABELS "metrics;threaded" TIMEOUT 180)
pp_add_script_test(NAME metrics.limits
  COMMAND python3 ${PP_METRICS_IT}/metrics_limits.py $<TARGET_FILE:metrics_peer>
  LABELS "metrics;threaded" TIMEOUT 180)
pp_add_script_test(NAME metrics.serve_cli
  COMMAND python3 ${PP_METRICS_IT}/metrics_serve_cli.py $<TARGET_FILE:postprof>
  LABELS metrics TIMEOUT 120)

# Fuzz harnesses: everything parsed from outside input in this area. The
# parsers' sources are compiled into each harness so libFuzzer instruments
# them for coverage (the library copy is then not linked in).
set(PP_SRC ${PROJECT_SOURCE_DIR}/src)
pp_add_fuzz(NAME http_headers LIBS postprof_static
  SOURCES fuzz/fuzz_http_headers.c ${PP_SRC}/export/serve/http_parse.c ${PP_SRC}/export/serve/prometheus.c)
pp_add_fuzz(NAME procfs LIBS postprof_static
  SOURCES fuzz/fuzz_procfs.c ${PP_SRC}/capture/procfs.c)
pp_add_fuzz(NAME metric_labels LIBS postprof_static
  SOURCES fuzz/fuzz_metric_labels.c ${PP_SRC}/aggregate/registry.c ${PP_SRC}/export/serve/prometheus.c
          ${PP_SRC}/common/strbuf.c)
# The Grafana dashboard (docs/grafana) queries only metrics the exporter produces.
pp_add_script_test(NAME metrics.grafana_dashboard
  COMMAND python3 ${PP_METRICS_IT}/grafana_metrics_test.py $<TARGET_FILE:postprof>
          ${PROJECT_SOURCE_DIR}/docs/grafana/postprof.json ${PROJECT_SOURCE_DIR}/deploy/prometheus/rules.yml
  LABELS metrics TIMEOUT 120)

# The pipeline as a service and the fleet (issue 14, docs/fleet.md): real
# redis-server and Prometheus processes on 127.0.0.1 with ephemeral ports.
# The tools come from scripts/deps.sh; a missing one fails the test.
if(TARGET posts)
  set(PP_FLEET_IT ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  # the service's threads (worker, refresher, detector), also under TSan
  pp_add_unit_test(NAME posts_serve SOURCES unit/test_posts_serve.c LIBS posts PkgConfig::JANSSON
    LABELS threaded)
  # SIGTERM under load, live metrics, online detection, --duration
  pp_add_script_test(NAME fleet.pipeline_serve
    COMMAND python3 ${PP_FLEET_IT}/pipeline_serve_test.py $<TARGET_FILE:postprof>
            ${CMAKE_CURRENT_BINARY_DIR}/fleet_serve_work
    LABELS fleet TIMEOUT 300)
  # a second signal while it drains is noted and the report still written; a third exits
  pp_add_script_test(NAME fleet.pipeline_signals
    COMMAND python3 ${PP_FLEET_IT}/pipeline_serve_signals.py $<TARGET_FILE:postprof>
            ${CMAKE_CURRENT_BINARY_DIR}/fleet_signals_work
    LABELS fleet TIMEOUT 300)
  # 3 nodes (two sharing redis-server), Prometheus with deploy/prometheus/rules.yml
  # (`for:` minutes made seconds), Alertmanager with alertmanager.yml
  pp_add_script_test(NAME fleet.three_nodes
    COMMAND python3 ${PP_FLEET_IT}/fleet_test.py $<TARGET_FILE:postprof>
            ${PROJECT_SOURCE_DIR}/deploy/prometheus/rules.yml
            ${PROJECT_SOURCE_DIR}/deploy/prometheus/alertmanager.yml
            ${CMAKE_CURRENT_BINARY_DIR}/fleet_three_work
    LABELS fleet TIMEOUT 300)
  # 3 nodes whose one source is a real PostgreSQL (started on 127.0.0.1 by the test)
  pp_add_script_test(NAME fleet.postgres_nodes
    COMMAND python3 ${PP_FLEET_IT}/fleet_postgres_test.py $<TARGET_FILE:postprof>
            ${CMAKE_CURRENT_BINARY_DIR}/fleet_postgres_work
    LABELS fleet TIMEOUT 300)
  set_tests_properties(fleet.postgres_nodes PROPERTIES SKIP_RETURN_CODE 77)
  # scripts/fleet.sh (make fleet): nodes on 127.0.0.11/12, federation, Ctrl-C
  pp_add_script_test(NAME fleet.script
    COMMAND python3 ${PP_FLEET_IT}/fleet_script_test.py $<TARGET_FILE:postprof>
            ${PROJECT_SOURCE_DIR}/scripts/fleet.sh ${CMAKE_CURRENT_BINARY_DIR}/fleet_script_work
    LABELS fleet TIMEOUT 300)
endif()

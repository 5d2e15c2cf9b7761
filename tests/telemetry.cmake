# OpenTelemetry out (issue 15, docs/telemetry.md): the shared HTTP retry
# policy, the OTLP exporter's parts, W3C trace context, and an OTLP receiver
# that decodes every request with the decoder generated from the official
# protos (npm @opentelemetry/otlp-transformer 0.52.1, tests/telemetry/npm/).
pp_add_unit_test(NAME http_retry SOURCES telemetry/test_http_retry.c LIBS postprof_static
                 LABELS "telemetry;threaded")
pp_add_unit_test(NAME otlp SOURCES telemetry/test_otlp.c LIBS postprof_static
                 LABELS "telemetry;threaded")
target_include_directories(test_otlp PRIVATE ${PROJECT_BINARY_DIR}/src)
pp_add_fuzz(NAME traceparent SOURCES fuzz/fuzz_traceparent.c LIBS postprof_static)

add_executable(otlp_peer telemetry/otlp_peer.c)
target_link_libraries(otlp_peer PRIVATE postprof_static)
set(PP_OTLP_NPM ${CMAKE_CURRENT_BINARY_DIR}/otlp_npm)
pp_add_script_test(NAME otlp.setup
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/telemetry/npm/setup.sh ${PP_OTLP_NPM}
  LABELS telemetry TIMEOUT 300)
set_tests_properties(otlp.setup PROPERTIES FIXTURES_SETUP otlp_npm SKIP_RETURN_CODE 77)
foreach(mode protobuf json failures)
  pp_add_script_test(NAME otlp.receiver_${mode}
    COMMAND node ${CMAKE_CURRENT_SOURCE_DIR}/telemetry/otlp_receiver_test.cjs ${mode}
            $<TARGET_FILE:otlp_peer> ${PP_OTLP_NPM}
    LABELS "telemetry;threaded" TIMEOUT 300)
  set_tests_properties(otlp.receiver_${mode} PROPERTIES FIXTURES_REQUIRED otlp_npm)
endforeach()
# W3C trace context across two processes: api-server and pipeline --sources api
pp_add_script_test(NAME otlp.two_processes
  COMMAND node ${CMAKE_CURRENT_SOURCE_DIR}/telemetry/otlp_receiver_test.cjs propagation
          $<TARGET_FILE:postprof> ${PP_OTLP_NPM} ${CMAKE_CURRENT_BINARY_DIR}/otlp_two_processes
  LABELS "telemetry;threaded" TIMEOUT 300)
set_tests_properties(otlp.two_processes PROPERTIES FIXTURES_REQUIRED otlp_npm)
# the sampled flag across the two processes: a sampled-out loader's requests
# carry traceparent with flags 00 and the server's parentbased sampler
# follows it (no request span); a sampled one's 01 overrides the server's
# parentbased_always_off
pp_add_script_test(NAME otlp.two_processes_sampling
  COMMAND node ${CMAKE_CURRENT_SOURCE_DIR}/telemetry/otlp_receiver_test.cjs sampling
          $<TARGET_FILE:postprof> ${PP_OTLP_NPM} ${CMAKE_CURRENT_BINARY_DIR}/otlp_two_processes_sampling
  LABELS "telemetry;threaded" TIMEOUT 300)
set_tests_properties(otlp.two_processes_sampling PROPERTIES FIXTURES_REQUIRED otlp_npm)

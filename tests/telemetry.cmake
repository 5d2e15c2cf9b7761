# OpenTelemetry out (issue 15, docs/telemetry.md): the shared HTTP retry
# policy, the OTLP exporter, W3C trace context.
pp_add_unit_test(NAME http_retry SOURCES telemetry/test_http_retry.c LIBS postprof_static
                 LABELS "telemetry;threaded")

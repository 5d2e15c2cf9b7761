# OpenTelemetry out (src/telemetry/, docs/telemetry.md): C code for the OTLP
# messages, generated at build time by protoc-c from the .proto files in
# src/telemetry/proto/ (opentelemetry-proto's package names and field numbers).
set(pp_otlp_proto_dir ${CMAKE_CURRENT_SOURCE_DIR}/telemetry/proto)
set(pp_otlp_proto_out ${CMAKE_CURRENT_BINARY_DIR}/telemetry/proto)
file(MAKE_DIRECTORY ${pp_otlp_proto_out})
set(pp_otlp_protos common resource trace trace_service metrics metrics_service)
set(pp_otlp_proto_files "")
set(pp_otlp_generated "")
foreach(p ${pp_otlp_protos})
  list(APPEND pp_otlp_proto_files ${pp_otlp_proto_dir}/${p}.proto)
  list(APPEND pp_otlp_generated ${pp_otlp_proto_out}/${p}.pb-c.c ${pp_otlp_proto_out}/${p}.pb-c.h)
endforeach()
add_custom_command(
  OUTPUT ${pp_otlp_generated}
  COMMAND ${PP_PROTOC_C} --c_out=${pp_otlp_proto_out} --proto_path=${pp_otlp_proto_dir} ${pp_otlp_proto_files}
  DEPENDS ${pp_otlp_proto_files}
  COMMENT "protoc-c OTLP protos")
foreach(p ${pp_otlp_protos})
  set_source_files_properties(${pp_otlp_proto_out}/${p}.pb-c.c PROPERTIES COMPILE_OPTIONS "-w")
  target_sources(postprof_obj PRIVATE ${pp_otlp_proto_out}/${p}.pb-c.c)
endforeach()

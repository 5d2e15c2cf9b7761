# libpostprof_preload.so: the LD_PRELOAD library behind `postprof record`
# (src/preload/). It is loaded into programs built without sanitizers, so it
# is always built without them (a sanitizer runtime cannot be preloaded into
# an uninstrumented program), and it links nothing but libc, libm and libdl.
file(GLOB PP_PRELOAD_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/preload/*.c)
add_library(postprof_preload SHARED ${PP_PRELOAD_SOURCES})
set_target_properties(postprof_preload PROPERTIES OUTPUT_NAME postprof_preload
  C_VISIBILITY_PRESET hidden)
pp_without_sanitizers(postprof_preload)
target_compile_options(postprof_preload PRIVATE -O2 -fno-omit-frame-pointer -fno-plt)
target_include_directories(postprof_preload PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/preload
  ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(postprof_preload PRIVATE Threads::Threads ${CMAKE_DL_LIBS} m)
target_link_options(postprof_preload PRIVATE -Wl,-z,now)
install(TARGETS postprof_preload LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})

# pprof: C code for profile.proto generated at build time by protoc-c and
# compiled into libpostprof (src/export/formats/pprof.c includes it).
find_program(PP_PROTOC_C protoc-c REQUIRED)
set(pp_proto_out ${CMAKE_CURRENT_BINARY_DIR}/export/formats/proto)
file(MAKE_DIRECTORY ${pp_proto_out})
add_custom_command(
  OUTPUT ${pp_proto_out}/profile.pb-c.c ${pp_proto_out}/profile.pb-c.h
  COMMAND ${PP_PROTOC_C} --c_out=${pp_proto_out} --proto_path=${CMAKE_CURRENT_SOURCE_DIR}/export/formats/proto
          ${CMAKE_CURRENT_SOURCE_DIR}/export/formats/proto/profile.proto
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/export/formats/proto/profile.proto
  COMMENT "protoc-c profile.proto")
set_source_files_properties(${pp_proto_out}/profile.pb-c.c PROPERTIES COMPILE_OPTIONS "-w")
target_sources(postprof_obj PRIVATE ${pp_proto_out}/profile.pb-c.c)

# bench_record: its workloads live in record_work (no sanitizers, so the
# profilers under test can be preloaded into it).
add_executable(record_work ${CMAKE_CURRENT_SOURCE_DIR}/record_work.c)
pp_without_sanitizers(record_work)
target_compile_options(record_work PRIVATE -O2 -fno-omit-frame-pointer)
if(TARGET bench_record)
  add_dependencies(bench_record record_work postprof_preload)
  target_compile_definitions(bench_record PRIVATE
    PP_RECORD_WORK="$<TARGET_FILE:record_work>"
    PP_PRELOAD_LIB="$<TARGET_FILE:postprof_preload>")
endif()

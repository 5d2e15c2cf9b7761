# `postprof record` / `postprof top`: integration tests (tests/record/).
# The workloads are built without sanitizers: a sanitizer runtime cannot
# coexist with the preloaded profiler.
function(pp_record_workload name)
  set(src ${name})
  if(ARGC GREATER 1)
    set(src ${ARGV1})
  endif()
  add_executable(${name} ${CMAKE_CURRENT_SOURCE_DIR}/record/${src}.c)
  pp_without_sanitizers(${name})
  set_target_properties(${name} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/record)
  target_compile_options(${name} PRIVATE -O2 -fno-omit-frame-pointer)
  target_link_libraries(${name} PRIVATE Threads::Threads)
endfunction()
foreach(w work_shares work_mem work_robust work_lossy)
  pp_record_workload(${w})
endforeach()
# the same CPU workload without frame pointers, for the libunwind fallback
pp_record_workload(work_shares_nofp work_shares)
target_compile_options(work_shares_nofp PRIVATE -fomit-frame-pointer)

find_package(Python3 REQUIRED COMPONENTS Interpreter)
# The attribution-accuracy cases (shares, perf, libunwind, attach_shares, posix_timer)
# measure the profiler and the unsanitized workloads, which are the same in
# every build; they run on the plain Release build only, where the machine is
# not also busy with a sanitized build's tests (the project's rule: accuracy tests
# are `plain`). The other cases check behaviour and run in every build.
set(pp_record_cases formats mem_all mem_sampled cli robust_crash robust__exit robust_exec
    robust_fork robust_threads64 robust_blocksig robust_ownhandler robust_wall robust_vfork
    attach signals)
set(pp_record_accuracy shares1 shares4 perf libunwind attach_shares closefds short_threads
    posix_timer)
if(NOT PP_SANITIZE)
  list(APPEND pp_record_cases ${pp_record_accuracy})
endif()
foreach(c ${pp_record_cases})
  set(labels record)
  if(c MATCHES "shares4|threads64|attach")
    list(APPEND labels threaded)
  endif()
  if(c IN_LIST pp_record_accuracy)
    list(APPEND labels plain)
  endif()
  pp_add_script_test(NAME record.${c}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/record/test_record.py ${c}
            $<TARGET_FILE:postprof> ${CMAKE_CURRENT_BINARY_DIR}/record
            ${PROJECT_SOURCE_DIR}/src/export/formats/proto
    LABELS ${labels} TIMEOUT 600 # hangs only: CPU-bound runs on a shared 2-core machine
    ENV "POSTPROF_PRELOAD=$<TARGET_FILE:postprof_preload>")
endforeach()

pp_add_unit_test(NAME profile SOURCES unit/test_profile.c LIBS postprof_static)
# the CPU a sample stands for (src/preload/ticks.h, src/capture/attach_weight.h)
pp_add_unit_test(NAME sample_weights SOURCES unit/test_sample_weights.c LABELS record)
# pp_record_attach() called by a program: sampling a child, a refusal explained
pp_add_unit_test(NAME record_attach SOURCES record/test_attach.c LIBS postprof_static
  LABELS record)

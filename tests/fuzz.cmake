# pp_add_fuzz(NAME <name> SOURCES <harness.c ...> [LIBS <targets...>])
# The harness defines LLVMFuzzerTestOneInput. Always: a replay program run by
# ctest (fuzz.<name>) over tests/fuzz/corpus/<name>/. With -DPP_FUZZ=ON and
# clang: also fuzz_<name>, a libFuzzer binary, e.g.
#   build/fuzz/tests/fuzz_<name> -max_total_time=60 tests/fuzz/corpus/<name>
function(pp_add_fuzz)
  cmake_parse_arguments(F "" "NAME" "SOURCES;LIBS" ${ARGN})
  set(corpus ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${F_NAME})
  add_executable(replay_${F_NAME} ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.c ${F_SOURCES})
  target_link_libraries(replay_${F_NAME} PRIVATE ${F_LIBS})
  target_include_directories(replay_${F_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  add_test(NAME fuzz.${F_NAME} COMMAND replay_${F_NAME} ${corpus})
  set_tests_properties(fuzz.${F_NAME} PROPERTIES LABELS "fuzz" TIMEOUT 300)
  if(PP_FUZZ AND CMAKE_C_COMPILER_ID STREQUAL "Clang")
    add_executable(fuzz_${F_NAME} ${F_SOURCES})
    target_compile_options(fuzz_${F_NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_${F_NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_${F_NAME} PRIVATE ${F_LIBS})
    target_include_directories(fuzz_${F_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  endif()
endfunction()

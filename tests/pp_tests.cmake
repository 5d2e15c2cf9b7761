# A test's TIMEOUT only catches a hang: no test's wall time is judged by it.
# On a shared machine (ctest -j nproc beside other work, load 20 on 2 cores)
# a test may take several times what it takes alone, so no timeout is below
# this floor. Five fresh-clone suites at once on 2 cores (load 10-23) took
# tests of 3-20 s alone to 300-350 s, and two past 600 s.
set(PP_TEST_TIMEOUT_FLOOR 1500 CACHE STRING "Least ctest timeout of any test, in seconds")

# pp_add_unit_test(NAME <name> SOURCES <files...> [LIBS <targets...>] [LABELS <labels...>]
#                  [ENV <VAR=value...>] [TIMEOUT <s>])
function(pp_add_unit_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS;ENV" ${ARGN})
  add_executable(test_${T_NAME} ${T_SOURCES})
  target_link_libraries(test_${T_NAME} PRIVATE PkgConfig::CMOCKA ${T_LIBS})
  target_include_directories(test_${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR}/src)
  if(NOT T_TIMEOUT OR T_TIMEOUT LESS PP_TEST_TIMEOUT_FLOOR)
    set(T_TIMEOUT ${PP_TEST_TIMEOUT_FLOOR})
  endif()
  set(cases "")
  foreach(src ${T_SOURCES})
    if(NOT IS_ABSOLUTE ${src})
      set(src ${CMAKE_CURRENT_SOURCE_DIR}/${src})
    endif()
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
    file(READ ${src} text)
    string(REGEX MATCHALL "cmocka_unit_test(_setup_teardown|_setup|_teardown)?\\([ \t\n]*[A-Za-z0-9_]+" found "${text}")
    foreach(m ${found})
      string(REGEX REPLACE ".*\\([ \t\n]*" "" case ${m})
      list(APPEND cases ${case})
    endforeach()
  endforeach()
  if(NOT cases)
    message(FATAL_ERROR "pp_add_unit_test(${T_NAME}): no cmocka_unit_test() cases found")
  endif()
  foreach(case ${cases})
    add_test(NAME ${T_NAME}.${case} COMMAND test_${T_NAME} ${case})
    set_tests_properties(${T_NAME}.${case} PROPERTIES
      LABELS "${T_NAME};${T_LABELS}" TIMEOUT ${T_TIMEOUT}
      FAIL_REGULAR_EXPRESSION "\\] 0 test\\(s\\) run;SKIPPED"
      ENVIRONMENT "${T_ENV}")
  endforeach()
endfunction()

# pp_add_script_test(NAME <name> COMMAND <cmd...> [LABELS ...] [TIMEOUT s] [ENV ...])
function(pp_add_script_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "COMMAND;LABELS;ENV" ${ARGN})
  if(NOT T_TIMEOUT OR T_TIMEOUT LESS PP_TEST_TIMEOUT_FLOOR)
    set(T_TIMEOUT ${PP_TEST_TIMEOUT_FLOOR})
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_COMMAND})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "${T_ENV}")
endfunction()

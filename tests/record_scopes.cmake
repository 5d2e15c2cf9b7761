# A target that links libpostprof: its scopes in the Chrome trace of
# `postprof record` (needs a build without sanitizers, like every record target).
if(NOT PP_SANITIZE)
  add_executable(work_scopes ${CMAKE_CURRENT_SOURCE_DIR}/record/work_scopes.c)
  target_link_libraries(work_scopes PRIVATE postprof_static)
  set_target_properties(work_scopes PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/record)
  pp_add_script_test(NAME record.scopes_in_chrome_trace
    COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/record/check_scopes.py $<TARGET_FILE:postprof>
            $<TARGET_FILE:work_scopes>
    LABELS "record;plain" TIMEOUT 120
    ENV "POSTPROF_PRELOAD=$<TARGET_FILE:postprof_preload>")
endif()

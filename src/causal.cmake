# libpostprof_causal.so: the LD_PRELOAD shim behind `postprof causal`
# (src/causal/): wraps the blocking pthread and semaphore calls. Loaded into
# programs built without sanitizers, so built without them (as the preload
# profiler); links only libc and libdl.
add_library(postprof_causal SHARED ${CMAKE_CURRENT_SOURCE_DIR}/causal/shim.c)
set_target_properties(postprof_causal PROPERTIES OUTPUT_NAME postprof_causal
  C_VISIBILITY_PRESET hidden)
pp_without_sanitizers(postprof_causal)
target_compile_options(postprof_causal PRIVATE -O2)
target_link_libraries(postprof_causal PRIVATE ${CMAKE_DL_LIBS})
target_link_options(postprof_causal PRIVATE -Wl,-z,now)
install(TARGETS postprof_causal LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})

# libpostprof_causal_preload.so: `postprof causal --preload` for programs
# built with -finstrument-functions but not linked with libpostprof: the whole
# library plus the function hooks (src/causal/preload.c), preloaded. Made
# from libpostprof's own objects, so only where those carry no sanitizer
# (a sanitizer runtime cannot be preloaded into an uninstrumented program).
if(NOT PP_SANITIZE)
  add_library(postprof_causal_preload SHARED ${CMAKE_CURRENT_SOURCE_DIR}/causal/preload.c
              $<TARGET_OBJECTS:postprof_obj>)
  set_target_properties(postprof_causal_preload PROPERTIES OUTPUT_NAME postprof_causal_preload)
  target_include_directories(postprof_causal_preload PRIVATE ${PROJECT_SOURCE_DIR}/include
                             ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(postprof_causal_preload PRIVATE ${PP_LIB_DEPS})
  target_link_options(postprof_causal_preload PRIVATE -Wl,-z,now)
  install(TARGETS postprof_causal_preload LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()

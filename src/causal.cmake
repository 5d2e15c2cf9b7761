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

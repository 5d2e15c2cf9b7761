# bench_pipeline drives the LinkedIn-posts pipeline library (posts/);
# bench_op_figures times a pass with and without `postprof run`'s
# per-operation figures, linked with the malloc accounting as postprof is.
# Both get their data from posts_data.c.
if(TARGET bench_op_figures)
  target_link_libraries(bench_op_figures PRIVATE postprof_malloc_obj)
endif()
foreach(t bench_pipeline bench_op_figures bench_model_neighbour)
  if(TARGET ${t} AND TARGET posts)
    target_link_libraries(${t} PRIVATE posts)
    target_sources(${t} PRIVATE posts_data.c)
    target_compile_definitions(${t} PRIVATE PP_HAVE_POSTS=1)
  endif()
endforeach()

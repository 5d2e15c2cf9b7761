# bench_pipeline drives the LinkedIn-posts pipeline library (posts/).
if(TARGET bench_pipeline)
  if(TARGET posts)
    target_link_libraries(bench_pipeline PRIVATE posts)
    target_compile_definitions(bench_pipeline PRIVATE PP_HAVE_POSTS=1)
  endif()
endif()

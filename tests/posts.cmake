# Tests of the LinkedIn-posts pipeline (posts/): one cmocka program per module.
if(TARGET posts)
  pp_add_unit_test(NAME posts_data SOURCES unit/test_posts_data.c LIBS posts LABELS threaded)
  pp_add_unit_test(NAME posts_preprocess SOURCES unit/test_posts_preprocess.c LIBS posts LABELS threaded)
  # datagen's threaded preprocessing runs under TSan through posts_data; the model code
  # itself is single-threaded, so posts_model (slow under TSan) is not labelled threaded
  pp_add_unit_test(NAME posts_model SOURCES unit/test_posts_model.c LIBS posts)
  pp_add_unit_test(NAME posts_sources SOURCES unit/test_posts_sources.c LIBS posts PkgConfig::CURL PkgConfig::SQLITE PkgConfig::MHD LABELS threaded)
  pp_add_unit_test(NAME posts_cache SOURCES unit/test_posts_cache.c LIBS posts LABELS threaded)
  pp_add_unit_test(NAME posts_pipeline SOURCES unit/test_posts_pipeline.c LIBS posts LABELS threaded)
  # profile.c (what `postprof run` profiles) drives pipeline.c's own code
  pp_add_unit_test(NAME posts_profile SOURCES unit/test_posts_profile.c LIBS posts LABELS threaded)
  pp_add_script_test(NAME posts_postgres COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/posts/postgres_test.sh $<TARGET_FILE:postprof>
    LABELS posts_postgres TIMEOUT 300)
  pp_add_script_test(NAME posts_cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/posts/cli_test.sh $<TARGET_FILE:postprof>
    LABELS posts_cli threaded TIMEOUT 300)
  pp_add_fuzz(NAME posts_jsonl SOURCES fuzz/fuzz_posts_jsonl.c LIBS posts)
  pp_add_fuzz(NAME posts_rows SOURCES fuzz/fuzz_posts_rows.c LIBS posts PkgConfig::SQLITE)
  pp_add_fuzz(NAME posts_api_query SOURCES fuzz/fuzz_posts_api_query.c LIBS posts)
  pp_add_fuzz(NAME posts_model SOURCES fuzz/fuzz_posts_model.c LIBS posts)
endif()
if(TEST posts_postgres)
  set_tests_properties(posts_postgres PROPERTIES SKIP_RETURN_CODE 77)
endif()

# web.cmake - The dashboard and HTML report assets (web/*.html, *.js, *.css)
# compiled into libpostprof as one generated C source (cmake/embed_web.cmake);
# a fresh clone builds it with no manual step.
file(GLOB PP_WEB_FILES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/web/*.html
     ${PROJECT_SOURCE_DIR}/web/*.js ${PROJECT_SOURCE_DIR}/web/*.css)
set(PP_WEB_C ${CMAKE_CURRENT_BINARY_DIR}/web_assets_data.c)
add_custom_command(OUTPUT ${PP_WEB_C}
  COMMAND ${CMAKE_COMMAND} -DWEB_DIR=${PROJECT_SOURCE_DIR}/web -DOUT=${PP_WEB_C}
          -P ${PROJECT_SOURCE_DIR}/cmake/embed_web.cmake
  DEPENDS ${PP_WEB_FILES} ${PROJECT_SOURCE_DIR}/cmake/embed_web.cmake
  COMMENT "Embedding web/ assets" VERBATIM)
target_sources(postprof_obj PRIVATE ${PP_WEB_C})

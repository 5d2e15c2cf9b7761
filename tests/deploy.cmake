# deploy/prometheus (issue 14): the Prometheus, federation and Alertmanager
# configurations are valid for the installed tools, and the recording and
# alerting rules compute what rules_test.yml expects (promtool test rules).
# A missing tool skips (77), except under CI=true where it fails.
set(PP_DEPLOY_PROM ${PROJECT_SOURCE_DIR}/deploy/prometheus)
find_program(PP_PROMTOOL promtool)
find_program(PP_AMTOOL amtool)

function(pp_deploy_test name tool)
  if(tool)
    pp_add_script_test(NAME deploy.${name} COMMAND ${ARGN} LABELS deploy TIMEOUT 60)
  else()
    pp_add_script_test(NAME deploy.${name}
      COMMAND sh -c "echo '${name}: promtool/amtool not installed (scripts/deps.sh)' && test \"$CI\" != true && exit 77 || exit 1"
      LABELS deploy TIMEOUT 60)
    set_tests_properties(deploy.${name} PROPERTIES SKIP_RETURN_CODE 77)
  endif()
endfunction()

# promtool resolves rule_files and file_sd target files relative to the config.
pp_deploy_test(prometheus_config "${PP_PROMTOOL}"
  ${PP_PROMTOOL} check config ${PP_DEPLOY_PROM}/prometheus.yml)
pp_deploy_test(federation_config "${PP_PROMTOOL}"
  ${PP_PROMTOOL} check config ${PP_DEPLOY_PROM}/federation.yml)
pp_deploy_test(rules_check "${PP_PROMTOOL}"
  ${PP_PROMTOOL} check rules ${PP_DEPLOY_PROM}/rules.yml)
# The rules' values and every alert firing / not firing on known series.
pp_deploy_test(rules_test "${PP_PROMTOOL}"
  ${PP_PROMTOOL} test rules ${PP_DEPLOY_PROM}/rules_test.yml)
pp_deploy_test(alertmanager_config "${PP_AMTOOL}"
  ${PP_AMTOOL} check-config ${PP_DEPLOY_PROM}/alertmanager.yml)
# Routing by severity: critical pages, warning goes to the on-call queue
# (--verify.receivers exits 1 on another receiver).
pp_deploy_test(alertmanager_route_critical "${PP_AMTOOL}"
  ${PP_AMTOOL} config routes test --config.file=${PP_DEPLOY_PROM}/alertmanager.yml
  --verify.receivers=pager-webhook severity=critical alertname=PostprofNodeDown)
pp_deploy_test(alertmanager_route_warning "${PP_AMTOOL}"
  ${PP_AMTOOL} config routes test --config.file=${PP_DEPLOY_PROM}/alertmanager.yml
  --verify.receivers=oncall-webhook severity=warning alertname=PostprofCpuHigh)

# @summary Keeps the envoy-agent service running and enabled; a refresh reloads it.
#
# A refresh (a configuration change) runs `systemctl reload`: SIGHUP, the agent re-reads its
# configuration and routes and re-applies them while Envoy keeps serving. Puppet never restarts it.
#
# @api private
class envoy_agent::service {
  assert_private()

  if $envoy_agent::manage_service {
    service { $envoy_agent::service_name:
      ensure    => $envoy_agent::service_ensure,
      enable    => $envoy_agent::service_enable,
      hasstatus => true,
      restart   => "/bin/systemctl reload ${envoy_agent::service_name}",
    }
  }
}

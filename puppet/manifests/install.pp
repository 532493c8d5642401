# @summary Installs the envoy-agent package and, optionally, Envoy's.
#
# @api private
class envoy_agent::install {
  assert_private()

  if $envoy_agent::manage_envoy_package {
    package { $envoy_agent::envoy_package_name:
      ensure => $envoy_agent::envoy_package_ensure,
    }
  }

  if $envoy_agent::manage_package {
    package { $envoy_agent::package_name:
      ensure => $envoy_agent::package_ensure,
    }
  }
}

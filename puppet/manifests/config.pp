# @summary Writes agent.yaml, and optionally the static routes file and the control plane's TLS files.
#
# Every file is checked with `envoy-agent validate` before it replaces the current one (with
# `validate_config`), so a file the agent would refuse never reaches it.
#
# @api private
class envoy_agent::config {
  assert_private()

  if $envoy_agent::validate_config {
    $validate_routes = "${envoy_agent::agent_binary} validate --routes %"
    $validate_config = "${envoy_agent::agent_binary} validate --config %"
  } else {
    $validate_routes = undef
    $validate_config = undef
  }

  file { $envoy_agent::config_dir:
    ensure => directory,
    owner  => 'root',
    group  => 'root',
    mode   => '0755',
  }

  # TLS files, when their content is given. The key is readable by the agent's group only.
  $tls = {
    'ca'   => [$envoy_agent::control_plane_tls_ca_file, $envoy_agent::control_plane_tls_ca_content, '0644'],
    'cert' => [$envoy_agent::control_plane_tls_cert_file, $envoy_agent::control_plane_tls_cert_content, '0644'],
    'key'  => [$envoy_agent::control_plane_tls_key_file, $envoy_agent::control_plane_tls_key_content, '0640'],
  }
  $tls.each |$kind, $spec| {
    if $spec[1] =~ NotUndef {
      $content = ($kind == 'key' and $spec[1] =~ String) ? {
        true    => Sensitive($spec[1]),
        default => $spec[1],
      }
      file { "envoy_agent tls ${kind}":
        ensure    => file,
        path      => $spec[0],
        owner     => 'root',
        group     => $envoy_agent::agent_group,
        mode      => $spec[2],
        content   => $content,
        show_diff => $kind != 'key',
        before    => File[$envoy_agent::config_file],
      }
    }
  }

  if $envoy_agent::routes_path =~ NotUndef and ($envoy_agent::routes_content =~ NotUndef or $envoy_agent::routes_source =~ NotUndef) {
    file { $envoy_agent::routes_path:
      ensure       => file,
      owner        => 'root',
      group        => 'root',
      mode         => '0644',
      content      => $envoy_agent::routes_content,
      source       => $envoy_agent::routes_source,
      validate_cmd => $validate_routes,
      before       => File[$envoy_agent::config_file],
    }
  }

  $control_plane = $envoy_agent::control_plane_addresses.empty ? {
    true    => undef,
    default => {
      'addresses'          => $envoy_agent::control_plane_addresses,
      'plaintext'          => $envoy_agent::control_plane_plaintext,
      'ca_file'            => $envoy_agent::control_plane_tls_ca_file,
      'cert_file'          => $envoy_agent::control_plane_tls_cert_file,
      'key_file'           => $envoy_agent::control_plane_tls_key_file,
      'splay_ms'           => $envoy_agent::control_plane_splay_ms,
      'connect_timeout_ms' => $envoy_agent::control_plane_connect_timeout_ms,
    },
  }

  file { $envoy_agent::config_file:
    ensure       => file,
    owner        => 'root',
    group        => 'root',
    mode         => '0644',
    content      => epp('envoy_agent/agent.yaml.epp', {
        'node_id'                      => $envoy_agent::node_id,
        'node_cluster'                 => $envoy_agent::node_cluster,
        'node_zone'                    => $envoy_agent::node_zone,
        'node_address'                 => $envoy_agent::node_address,
        'routes_file'                  => $envoy_agent::routes_path,
        'control_plane'                => $control_plane,
        'envoy_binary'                 => $envoy_agent::envoy_binary,
        'envoy_config_dir'             => $envoy_agent::envoy_config_dir,
        'envoy_admin_port'             => $envoy_agent::envoy_admin_port,
        'envoy_base_id'                => $envoy_agent::envoy_base_id,
        'envoy_drain_time_s'           => $envoy_agent::envoy_drain_time_s,
        'envoy_parent_shutdown_time_s' => $envoy_agent::envoy_parent_shutdown_time_s,
        'envoy_delivery'               => $envoy_agent::envoy_delivery,
        'envoy_concurrency'            => $envoy_agent::envoy_concurrency,
        'envoy_ready_timeout_s'        => $envoy_agent::envoy_ready_timeout_s,
        'envoy_stop_timeout_s'         => $envoy_agent::envoy_stop_timeout_s,
        'state_dir'                    => $envoy_agent::state_dir,
        'admin_listen'                 => $envoy_agent::admin_listen,
        'admin_allow_remote'           => $envoy_agent::admin_allow_remote,
        'history_keep'                 => $envoy_agent::history_keep,
        'restart_min_interval_ms'      => $envoy_agent::restart_min_interval_ms,
        'restart_debounce_ms'          => $envoy_agent::restart_debounce_ms,
        'heartbeat_interval_ms'        => $envoy_agent::heartbeat_interval_ms,
        'heartbeat_timeout_ms'         => $envoy_agent::heartbeat_timeout_ms,
        'local_services'               => $envoy_agent::local_services,
        'logging_format'               => $envoy_agent::logging_format,
        'metrics_statsd'               => $envoy_agent::metrics_statsd,
        'metrics_statsd_interval_ms'   => $envoy_agent::metrics_statsd_interval_ms,
        'ec2'                          => $envoy_agent::ec2,
    }),
    validate_cmd => $validate_config,
    require      => File[$envoy_agent::config_dir],
  }
}

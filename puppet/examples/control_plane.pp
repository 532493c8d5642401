# A fleet host on EC2 taking its routes from a control plane over mutual TLS; the instance id is
# its node id. The key is kept out of reports and diffs.
class { 'envoy_agent':
  package_ensure                 => 'latest',
  node_id                        => 'auto',
  node_cluster                   => 'payments',
  ec2                            => 'on',
  routes_file                    => false,
  control_plane_addresses        => ['cp-1.example.internal:18000', 'cp-2.example.internal:18000'],
  control_plane_tls_ca_file      => '/etc/envoy-agent/ca.pem',
  control_plane_tls_cert_file    => '/etc/envoy-agent/agent.pem',
  control_plane_tls_key_file     => '/etc/envoy-agent/agent.key',
  control_plane_tls_ca_content   => file('/etc/ssl/fleet/ca.pem'),
  control_plane_tls_cert_content => file('/etc/ssl/fleet/agent.pem'),
  control_plane_tls_key_content  => Sensitive(file('/etc/ssl/fleet/agent.key')),
  envoy_drain_time_s             => 30,
  envoy_parent_shutdown_time_s   => 45,
  restart_min_interval_ms        => 10000,
  heartbeat_interval_ms          => 5000,
  logging_format                 => 'json',
  metrics_statsd                 => '127.0.0.1:8125',
}

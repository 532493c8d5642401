# @summary Installs, configures and runs envoy-agent, the per-host agent that configures and supervises Envoy.
#
# Writes `/etc/envoy-agent/agent.yaml` from typed parameters (every key and range as in the agent's
# docs/configuration.md, so invalid input fails when the catalog is compiled, not on the host),
# optionally the static routes file and the control plane's TLS files, and keeps the
# `envoy-agent` service running and enabled. A configuration change **reloads** the agent
# (`systemctl reload`: SIGHUP, Envoy keeps serving); it is never restarted by Puppet. Package
# upgrades are left to the package's own hand-over (its post-install restarts only the agent and
# the new agent adopts the running Envoy). It also raises the kernel's inotify limits that
# Envoy's watched files need (`/etc/sysctl.d/60-envoy-agent.conf`; running values are only raised,
# never lowered).
#
# Defaults come from the module's Hiera data (`data/common.yaml`).
#
# @example A routes file managed by Puppet
#   class { 'envoy_agent':
#     node_cluster   => 'web',
#     routes_content => file('profile/envoy/routes.yaml'),
#   }
#
# @example A control plane with mutual TLS, EC2 identity and local health checks
#   class { 'envoy_agent':
#     node_id                     => 'auto',
#     node_cluster                => 'web',
#     ec2                         => 'on',
#     routes_file                 => false,
#     control_plane_addresses     => ['cp-1.example.internal:18000', 'cp-2.example.internal:18000'],
#     control_plane_tls_ca_file   => '/etc/envoy-agent/tls/ca.pem',
#     control_plane_tls_cert_file => '/etc/envoy-agent/tls/agent.pem',
#     control_plane_tls_key_file  => '/etc/envoy-agent/tls/agent.key',
#     local_services              => {
#       'users' => { 'port' => 8080, 'check' => { 'http_path' => '/health' } },
#       'cache' => { 'port' => 11211, 'check' => { 'tcp' => true }, 'fall' => 3 },
#     },
#   }
#
# @param package_name
#   The agent's package. Default: `envoy-agent`.
# @param package_ensure
#   `installed`, `latest` or a pinned version (e.g. `0.1.0-1`). Default: `installed`.
# @param manage_package
#   Whether to manage the agent's package at all. Default: `true`.
# @param manage_envoy_package
#   Whether to install the Envoy package too (off by default: Envoy often comes from elsewhere). Default: `false`.
# @param envoy_package_name
#   Envoy's package, with `manage_envoy_package`. Default: `envoy`.
# @param envoy_package_ensure
#   `installed`, `latest` or a pinned version of Envoy's package. Default: `installed`.
# @param config_dir
#   The agent's configuration directory. Default: `/etc/envoy-agent`.
# @param config_file
#   The agent's configuration file; the unit reads `/etc/envoy-agent/agent.yaml`. Default: `/etc/envoy-agent/agent.yaml`.
# @param validate_config
#   Check every agent.yaml and routes file with `envoy-agent validate` before it replaces the
#   current one (a bad file never reaches the agent). Needs the agent installed on the host: turn
#   it off only with `manage_package => false` on a host without the package. Default: `true`.
# @param agent_binary
#   The agent's CLI, used for validation. Default: `/usr/bin/envoy-agent`.
# @param agent_group
#   The group the agent runs as; owns the TLS directory and private key. Default: `envoy-agent`.
# @param node_id
#   `node.id`: this host's unique name; `auto` takes the EC2 instance id (needs `ec2` `auto` or `on`).
#   Default: `%{facts.networking.hostname}`.
# @param node_cluster
#   `node.cluster`: the group of hosts this one belongs to. Default: `default`.
# @param node_zone
#   `node.zone`: the availability zone, Envoy's node locality (with EC2, empty means the instance's).
# @param node_address
#   `node.address`: the IP other hosts use to reach this host's local services.
# @param routes_file
#   `routes.file`: the static routes file to serve; `false` for none (routes from the control plane only).
#   Default: `/etc/envoy-agent/routes.yaml`.
# @param routes_content
#   Content of `routes_file`, when Puppet manages that file (validated with `envoy-agent validate --routes`).
# @param routes_source
#   Source of `routes_file`, instead of `routes_content`.
# @param control_plane_addresses
#   `routes.control_plane.addresses`: control-plane `host:port`s, tried in turn. Empty: no control plane.
#   Default: `[]`.
# @param control_plane_plaintext
#   `routes.control_plane.plaintext`: connect without TLS (must be explicit; excludes the TLS files).
#   Default: `false`.
# @param control_plane_tls_ca_file
#   `routes.control_plane.tls.ca_file`: the CA that signed the control plane's certificate (PEM).
#   Required with a control plane unless `control_plane_plaintext`.
# @param control_plane_tls_cert_file
#   `routes.control_plane.tls.cert_file`: this agent's certificate for mutual TLS (with the key).
# @param control_plane_tls_key_file
#   `routes.control_plane.tls.key_file`: this agent's private key for mutual TLS (with the certificate).
# @param control_plane_tls_ca_content
#   PEM content written to `control_plane_tls_ca_file` (mode 0644), when Puppet manages it.
# @param control_plane_tls_cert_content
#   PEM content written to `control_plane_tls_cert_file` (mode 0644).
# @param control_plane_tls_key_content
#   PEM content written to `control_plane_tls_key_file` (mode 0640, group `agent_group`; never shown in diffs).
# @param control_plane_splay_ms
#   `routes.control_plane.splay_ms`: random wait before the first connection (agent default 5000).
# @param control_plane_connect_timeout_ms
#   `routes.control_plane.connect_timeout_ms` (agent default 5000).
# @param envoy_binary
#   `envoy.binary`: Envoy's executable. Default: `/usr/bin/envoy`.
# @param envoy_config_dir
#   `envoy.config_dir`: where the bootstrap and watched files go (agent default `<state_dir>/envoy`).
# @param envoy_admin_port
#   `envoy.admin_port`: Envoy's admin port on 127.0.0.1. Default: `9901`.
# @param envoy_base_id
#   `envoy.base_id`: Envoy's `--base-id`, unique per Envoy on a host (a change is a cold restart). Default: `0`.
# @param envoy_drain_time_s
#   `envoy.drain_time_s`: Envoy's `--drain-time-s`. The unit's `TimeoutStopSec` (90 s) must cover
#   it plus `envoy_stop_timeout_s`. Default: `60`.
# @param envoy_parent_shutdown_time_s
#   `envoy.parent_shutdown_time_s`: Envoy's `--parent-shutdown-time-s`; greater than the drain time.
#   Default: `90`.
# @param envoy_delivery
#   `envoy.delivery`: `files` (watched files, no restart for route or endpoint changes) or
#   `restart` (every change is a hot restart). Default: `files`.
# @param envoy_concurrency
#   `envoy.concurrency`: Envoy's `--concurrency` (agent default 2).
# @param envoy_ready_timeout_s
#   `envoy.ready_timeout_s`: how long a new Envoy epoch may take to become LIVE (agent default 60).
# @param envoy_stop_timeout_s
#   `envoy.stop_timeout_s`: after the drain, how long Envoy gets to exit before SIGKILL (agent default 10).
# @param state_dir
#   `state_dir`: the agent's state. The unit only lets it write under `/var/lib/envoy-agent`. Default: `/var/lib/envoy-agent`.
# @param admin_listen
#   `admin.listen`: the agent's admin listener (`host:port` or `[v6]:port`); its port must differ
#   from `envoy_admin_port`. Default: `127.0.0.1:9902`.
# @param admin_allow_remote
#   `admin.allow_remote`: required for a non-loopback `admin_listen`. Default: `false`.
# @param history_keep
#   `history.keep`: applied snapshots kept in the state directory (agent default 10).
# @param restart_min_interval_ms
#   `restart.min_interval_ms`: minimum time between two Envoy hot restarts (the restart rate limit).
#   Default: `5000`.
# @param restart_debounce_ms
#   `restart.debounce_ms`: changes closer together than this are applied as one. Default: `500`.
# @param heartbeat_interval_ms
#   `heartbeat.interval_ms`: heartbeat period to the control plane. Default: `10000`.
# @param heartbeat_timeout_ms
#   `heartbeat.timeout_ms`: deadline of one heartbeat; less than the interval. Default: `3000`.
# @param local_services
#   `local_services`: services this host serves, checked locally; name => port, check, interval_ms,
#   timeout_ms, rise, fall (see Envoy_agent::Localservice). Written sorted by name. Default: `{}`.
# @param logging_format
#   `logging.format`: `text` or `json`. Default: `text`.
# @param metrics_statsd
#   `metrics.statsd`: `host:port` of a statsd daemon to push metrics to.
# @param metrics_statsd_interval_ms
#   `metrics.statsd_interval_ms` (agent default 10000).
# @param ec2
#   `ec2`: `auto` (use EC2 instance metadata when it answers), `on` (required) or `off`. Default: `auto`.
# @param manage_inotify_sysctl
#   Whether to manage the kernel's inotify limits for Envoy's watched files (`envoy_delivery` `files`
#   needs one inotify instance per file subscription, twice during a hot restart): writes
#   `/etc/sysctl.d/60-envoy-agent.conf`, which replaces the package's
#   `/usr/lib/sysctl.d/60-envoy-agent.conf` at boot, and raises each running value that is lower
#   (never lowers a larger one; a read-only `/proc/sys`, as in a container, is left alone).
#   Default: `true`.
# @param inotify_max_user_instances
#   `fs.inotify.max_user_instances` with `manage_inotify_sysctl` (kernel default 128; the agent needs
#   2 x (2 + RDS files + EDS files), shown by `envoy-agent validate`). Default: `65536`.
# @param inotify_max_user_watches
#   `fs.inotify.max_user_watches` with `manage_inotify_sysctl`. Default: `1048576`.
# @param manage_service
#   Whether to manage the service (and so whether configuration changes reload it). Default: `true`.
# @param service_name
#   The agent's systemd unit. Default: `envoy-agent`.
# @param service_ensure
#   `running` or `stopped`. Default: `running`.
# @param service_enable
#   Whether the service starts at boot. Default: `true`.
class envoy_agent (
  String[1] $package_name,
  Envoy_agent::Packageensure $package_ensure,
  Boolean $manage_package,
  Boolean $manage_envoy_package,
  String[1] $envoy_package_name,
  Envoy_agent::Packageensure $envoy_package_ensure,
  Stdlib::Unixpath $config_dir,
  Stdlib::Unixpath $config_file,
  Boolean $validate_config,
  Stdlib::Unixpath $agent_binary,
  String[1] $agent_group,
  Envoy_agent::Name $node_id,
  Envoy_agent::Name $node_cluster,
  Variant[Stdlib::Unixpath, Boolean[false]] $routes_file,
  Array[Envoy_agent::Hostport] $control_plane_addresses,
  Boolean $control_plane_plaintext,
  Stdlib::Unixpath $envoy_binary,
  Integer[1, 65535] $envoy_admin_port,
  Integer[0, 1000000] $envoy_base_id,
  Integer[1, 3600] $envoy_drain_time_s,
  Integer[1, 7200] $envoy_parent_shutdown_time_s,
  Enum['files', 'restart'] $envoy_delivery,
  Stdlib::Unixpath $state_dir,
  Envoy_agent::Hostport $admin_listen,
  Boolean $admin_allow_remote,
  Integer[0, 3600000] $restart_min_interval_ms,
  Integer[0, 60000] $restart_debounce_ms,
  Integer[200, 600000] $heartbeat_interval_ms,
  Integer[50, 60000] $heartbeat_timeout_ms,
  Hash[Envoy_agent::Servicename, Envoy_agent::Localservice] $local_services,
  Enum['text', 'json'] $logging_format,
  Envoy_agent::Ec2mode $ec2,
  Boolean $manage_inotify_sysctl,
  Integer[128, 2147483647] $inotify_max_user_instances,
  Integer[8192, 2147483647] $inotify_max_user_watches,
  Boolean $manage_service,
  String[1] $service_name,
  Enum['running', 'stopped'] $service_ensure,
  Boolean $service_enable,
  Optional[Envoy_agent::Zone] $node_zone = undef,
  Optional[Stdlib::IP::Address::Nosubnet] $node_address = undef,
  Optional[String[1]] $routes_content = undef,
  Optional[Stdlib::Filesource] $routes_source = undef,
  Optional[Stdlib::Unixpath] $control_plane_tls_ca_file = undef,
  Optional[Stdlib::Unixpath] $control_plane_tls_cert_file = undef,
  Optional[Stdlib::Unixpath] $control_plane_tls_key_file = undef,
  Optional[String[1]] $control_plane_tls_ca_content = undef,
  Optional[String[1]] $control_plane_tls_cert_content = undef,
  Optional[Variant[String[1], Sensitive[String[1]]]] $control_plane_tls_key_content = undef,
  Optional[Integer[0, 600000]] $control_plane_splay_ms = undef,
  Optional[Integer[100, 60000]] $control_plane_connect_timeout_ms = undef,
  Optional[Stdlib::Unixpath] $envoy_config_dir = undef,
  Optional[Integer[1, 256]] $envoy_concurrency = undef,
  Optional[Integer[1, 3600]] $envoy_ready_timeout_s = undef,
  Optional[Integer[1, 600]] $envoy_stop_timeout_s = undef,
  Optional[Integer[1, 1000]] $history_keep = undef,
  Optional[Envoy_agent::Hostport] $metrics_statsd = undef,
  Optional[Integer[1000, 600000]] $metrics_statsd_interval_ms = undef,
) {
  # Cross-field rules of the agent's config loader, checked here so a bad combination fails the
  # catalog with a clear message instead of a refused agent.yaml on the host.
  $cp = !$control_plane_addresses.empty
  $routes_path = $routes_file ? {
    false   => undef,
    default => $routes_file,
  }
  $tls_given = [$control_plane_tls_ca_file, $control_plane_tls_cert_file, $control_plane_tls_key_file].any |$f| { $f =~ NotUndef }

  if $routes_path =~ Undef and !$cp {
    fail('envoy_agent: set routes_file, control_plane_addresses or both (where the routes come from)')
  }
  if $routes_path =~ Undef and ($routes_content =~ NotUndef or $routes_source =~ NotUndef) {
    fail('envoy_agent: routes_content and routes_source need routes_file (the path to write them to)')
  }
  if $routes_content =~ NotUndef and $routes_source =~ NotUndef {
    fail('envoy_agent: give routes_content or routes_source, not both')
  }
  if $cp {
    if $control_plane_plaintext and $tls_given {
      fail('envoy_agent: control_plane_plaintext cannot be true together with control_plane_tls_* files')
    }
    if !$control_plane_plaintext and $control_plane_tls_ca_file =~ Undef {
      fail('envoy_agent: a control plane needs control_plane_tls_ca_file, or control_plane_plaintext => true given explicitly')
    }
    if ($control_plane_tls_cert_file =~ Undef) != ($control_plane_tls_key_file =~ Undef) {
      fail('envoy_agent: control_plane_tls_cert_file and control_plane_tls_key_file go together (both for mutual TLS, or neither)')
    }
  } elsif $tls_given or $control_plane_plaintext
  or $control_plane_splay_ms =~ NotUndef or $control_plane_connect_timeout_ms =~ NotUndef {
    fail('envoy_agent: control_plane_* settings given without control_plane_addresses')
  }
  [['ca', $control_plane_tls_ca_file, $control_plane_tls_ca_content],
    ['cert', $control_plane_tls_cert_file, $control_plane_tls_cert_content],
  ['key', $control_plane_tls_key_file, $control_plane_tls_key_content]].each |$t| {
    if $t[2] =~ NotUndef and $t[1] =~ Undef {
      fail("envoy_agent: control_plane_tls_${t[0]}_content needs control_plane_tls_${t[0]}_file (the path to write it to)")
    }
  }
  if $envoy_parent_shutdown_time_s <= $envoy_drain_time_s {
    fail(@("MSG"/L))
      envoy_agent: envoy_parent_shutdown_time_s (${envoy_parent_shutdown_time_s}) must be greater than \
      envoy_drain_time_s (${envoy_drain_time_s}): the old Envoy must finish draining before it is told to exit
      | MSG
  }
  if $heartbeat_timeout_ms >= $heartbeat_interval_ms {
    fail(@("MSG"/L))
      envoy_agent: heartbeat_timeout_ms (${heartbeat_timeout_ms}) must be less than \
      heartbeat_interval_ms (${heartbeat_interval_ms})
      | MSG
  }
  $admin_host = $admin_listen.regsubst(/:[0-9]+\z/, '').regsubst(/\A\[(.*)\]\z/, '\1')
  $admin_port = Integer($admin_listen.regsubst(/\A.*:/, ''))
  if $admin_port == $envoy_admin_port {
    fail("envoy_agent: admin_listen port ${admin_port} is also envoy_admin_port; use another")
  }
  if !$admin_allow_remote and !($admin_host in ['localhost', '::1'] or $admin_host =~ /\A127\./) {
    fail(@("MSG"/L))
      envoy_agent: admin_listen '${admin_listen}' is not a loopback address; \
      set admin_allow_remote => true to expose the agent's admin endpoint
      | MSG
  }
  if $node_id == 'auto' and $ec2 == 'off' {
    fail("envoy_agent: node_id 'auto' is the EC2 instance id: it needs ec2 => 'auto' or 'on'")
  }
  $local_services.each |$name, $svc| {
    $interval = $svc['interval_ms'].lest || { 1000 }
    $timeout = $svc['timeout_ms'].lest || { 500 }
    if $timeout > $interval {
      fail("envoy_agent: local_services['${name}'] timeout_ms (${timeout}) is longer than interval_ms (${interval})")
    }
  }

  contain envoy_agent::sysctl
  contain envoy_agent::install
  contain envoy_agent::config
  contain envoy_agent::service

  # Package upgrades are not wired to the service: the package's own post-install hands over to
  # the new agent without touching Envoy. A configuration change reloads the service. The inotify
  # limits come first, so the package's post-install raises to Puppet's values and Envoy starts
  # with them; a change of them needs no reload.
  Class['envoy_agent::sysctl']
  -> Class['envoy_agent::install']
  -> Class['envoy_agent::config']
  ~> Class['envoy_agent::service']
}

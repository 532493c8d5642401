# frozen_string_literal: true

require 'spec_helper'
require 'open3'
require 'tmpdir'

AGENT_YAML = '/etc/envoy-agent/agent.yaml'

DEFAULT_AGENT_YAML = <<~YAML
  # Managed by Puppet (envoy_agent). Local changes are overwritten.
  # Reference: /usr/share/doc/envoy-agent/configuration.md.gz
  node:
    id: "web-1"
    cluster: "default"
  routes:
    file: "/etc/envoy-agent/routes.yaml"
  envoy:
    binary: "/usr/bin/envoy"
    admin_port: 9901
    base_id: 0
    drain_time_s: 60
    parent_shutdown_time_s: 90
    delivery: "files"
  state_dir: "/var/lib/envoy-agent"
  admin:
    listen: "127.0.0.1:9902"
    allow_remote: false
  restart:
    min_interval_ms: 5000
    debounce_ms: 500
  heartbeat:
    interval_ms: 10000
    timeout_ms: 3000
  logging:
    format: "text"
  # Quoted: YAML 1.1 reads a bare on/off as a boolean.
  ec2: "auto"
YAML

SYSCTL_FILE = '/etc/sysctl.d/60-envoy-agent.conf'

DEFAULT_SYSCTL = <<~CONF
  # Managed by Puppet (envoy_agent). Local changes are overwritten.
  # Replaces the envoy-agent package's /usr/lib/sysctl.d/60-envoy-agent.conf (same name), which says
  # why: Envoy creates one inotify instance per watched-file subscription, twice during a hot restart.
  # Puppet raises the running values to these and never lowers a larger one.
  fs.inotify.max_user_instances = 65536
  fs.inotify.max_user_watches = 1048576
CONF

# Every agent.yaml key set to a non-default value, with the TLS and routes files managed too.
FULL_PARAMS = {
  'package_ensure' => '0.1.0-1',
  'manage_envoy_package' => true,
  'envoy_package_ensure' => 'latest',
  'node_id' => 'i-0123456789abcdef0',
  'node_cluster' => 'web',
  'node_zone' => 'us-east-1a',
  'node_address' => '10.0.0.12',
  'routes_file' => '/etc/envoy-agent/routes.yaml',
  'routes_content' => "version: \"7\"\nservices: []\n",
  'control_plane_addresses' => ['cp-1.example.internal:18000', '[fd00::1]:18000'],
  'control_plane_tls_ca_file' => '/etc/envoy-agent/tls/ca.pem',
  'control_plane_tls_cert_file' => '/etc/envoy-agent/tls/agent.pem',
  'control_plane_tls_key_file' => '/etc/envoy-agent/tls/agent.key',
  'control_plane_tls_ca_content' => "CA PEM\n",
  'control_plane_tls_cert_content' => "CERT PEM\n",
  'control_plane_tls_key_content' => "KEY PEM\n",
  'control_plane_splay_ms' => 0,
  'control_plane_connect_timeout_ms' => 2000,
  'envoy_binary' => '/opt/envoy/bin/envoy',
  'envoy_config_dir' => '/var/lib/envoy-agent/bootstrap',
  'envoy_admin_port' => 19901,
  'envoy_base_id' => 7,
  'envoy_drain_time_s' => 30,
  'envoy_parent_shutdown_time_s' => 45,
  'envoy_delivery' => 'restart',
  'envoy_concurrency' => 4,
  'envoy_ready_timeout_s' => 120,
  'envoy_stop_timeout_s' => 20,
  'state_dir' => '/var/lib/envoy-agent',
  'admin_listen' => '0.0.0.0:19902',
  'admin_allow_remote' => true,
  'history_keep' => 50,
  'restart_min_interval_ms' => 10_000,
  'restart_debounce_ms' => 1000,
  'heartbeat_interval_ms' => 5000,
  'heartbeat_timeout_ms' => 1000,
  'local_services' => {
    'users' => { 'port' => 8080, 'check' => { 'http_path' => '/health' }, 'interval_ms' => 2000,
                 'timeout_ms' => 700, 'rise' => 3, 'fall' => 4 },
    'cache' => { 'port' => 11_211, 'check' => { 'tcp' => true } },
  },
  'logging_format' => 'json',
  'metrics_statsd' => '127.0.0.1:8125',
  'metrics_statsd_interval_ms' => 15_000,
  'ec2' => 'on',
}.freeze

FULL_AGENT_YAML = <<~YAML
  # Managed by Puppet (envoy_agent). Local changes are overwritten.
  # Reference: /usr/share/doc/envoy-agent/configuration.md.gz
  node:
    id: "i-0123456789abcdef0"
    cluster: "web"
    zone: "us-east-1a"
    address: "10.0.0.12"
  routes:
    file: "/etc/envoy-agent/routes.yaml"
    control_plane:
      addresses:
        - "cp-1.example.internal:18000"
        - "[fd00::1]:18000"
      tls:
        ca_file: "/etc/envoy-agent/tls/ca.pem"
        cert_file: "/etc/envoy-agent/tls/agent.pem"
        key_file: "/etc/envoy-agent/tls/agent.key"
      splay_ms: 0
      connect_timeout_ms: 2000
  envoy:
    binary: "/opt/envoy/bin/envoy"
    config_dir: "/var/lib/envoy-agent/bootstrap"
    admin_port: 19901
    base_id: 7
    drain_time_s: 30
    parent_shutdown_time_s: 45
    delivery: "restart"
    concurrency: 4
    ready_timeout_s: 120
    stop_timeout_s: 20
  state_dir: "/var/lib/envoy-agent"
  admin:
    listen: "0.0.0.0:19902"
    allow_remote: true
  history:
    keep: 50
  restart:
    min_interval_ms: 10000
    debounce_ms: 1000
  heartbeat:
    interval_ms: 5000
    timeout_ms: 1000
  local_services:
    - name: "cache"
      port: 11211
      check:
        tcp: true
    - name: "users"
      port: 8080
      check:
        http_path: "/health"
      interval_ms: 2000
      timeout_ms: 700
      rise: 3
      fall: 4
  logging:
    format: "json"
  metrics:
    statsd: "127.0.0.1:8125"
    statsd_interval_ms: 15000
  # Quoted: YAML 1.1 reads a bare on/off as a boolean.
  ec2: "on"
YAML

# Invalid input: parameters => the message the catalog compilation must fail with.
INVALID = [
  [{ 'node_cluster' => 'bad cluster' }, %r{node_cluster}],
  [{ 'node_id' => '' }, %r{node_id}],
  [{ 'node_zone' => 'US-EAST-1A' }, %r{node_zone}],
  [{ 'node_address' => 'not-an-ip' }, %r{node_address}],
  [{ 'package_ensure' => 'absent' }, %r{package_ensure}],
  [{ 'envoy_binary' => 'envoy' }, %r{envoy_binary}],
  [{ 'envoy_base_id' => 1_000_001 }, %r{envoy_base_id}],
  [{ 'envoy_base_id' => -1 }, %r{envoy_base_id}],
  [{ 'envoy_admin_port' => 0 }, %r{envoy_admin_port}],
  [{ 'envoy_drain_time_s' => 0 }, %r{envoy_drain_time_s}],
  [{ 'envoy_drain_time_s' => 3601 }, %r{envoy_drain_time_s}],
  [{ 'envoy_parent_shutdown_time_s' => 7201 }, %r{envoy_parent_shutdown_time_s}],
  [{ 'envoy_drain_time_s' => 90, 'envoy_parent_shutdown_time_s' => 90 },
   %r{envoy_parent_shutdown_time_s \(90\) must be greater than envoy_drain_time_s \(90\)}],
  [{ 'envoy_delivery' => 'hot' }, %r{envoy_delivery}],
  [{ 'envoy_concurrency' => 257 }, %r{envoy_concurrency}],
  [{ 'envoy_ready_timeout_s' => 0 }, %r{envoy_ready_timeout_s}],
  [{ 'envoy_stop_timeout_s' => 601 }, %r{envoy_stop_timeout_s}],
  [{ 'restart_min_interval_ms' => 3_600_001 }, %r{restart_min_interval_ms}],
  [{ 'restart_debounce_ms' => 60_001 }, %r{restart_debounce_ms}],
  [{ 'heartbeat_interval_ms' => 199 }, %r{heartbeat_interval_ms}],
  [{ 'heartbeat_timeout_ms' => 49 }, %r{heartbeat_timeout_ms}],
  [{ 'heartbeat_interval_ms' => 1000, 'heartbeat_timeout_ms' => 1000 },
   %r{heartbeat_timeout_ms \(1000\) must be less than heartbeat_interval_ms \(1000\)}],
  [{ 'history_keep' => 0 }, %r{history_keep}],
  [{ 'logging_format' => 'xml' }, %r{logging_format}],
  [{ 'ec2' => true }, %r{ec2}],
  [{ 'ec2' => 'yes' }, %r{ec2}],
  [{ 'metrics_statsd' => 'statsd' }, %r{metrics_statsd}],
  [{ 'metrics_statsd_interval_ms' => 999 }, %r{metrics_statsd_interval_ms}],
  [{ 'admin_listen' => '127.0.0.1:70000' }, %r{admin_listen}],
  [{ 'admin_listen' => '127.0.0.1:9901' }, %r{admin_listen port 9901 is also envoy_admin_port}],
  [{ 'admin_listen' => '0.0.0.0:9902' }, %r{'0\.0\.0\.0:9902' is not a loopback address; set admin_allow_remote}],
  [{ 'node_id' => 'auto', 'ec2' => 'off' }, %r{node_id 'auto' is the EC2 instance id}],
  [{ 'routes_file' => false }, %r{set routes_file, control_plane_addresses or both}],
  [{ 'routes_content' => 'x', 'routes_source' => 'puppet:///x' }, %r{routes_content or routes_source, not both}],
  [{ 'routes_file' => false, 'control_plane_addresses' => ['cp:1'], 'control_plane_plaintext' => true,
     'routes_content' => 'x' }, %r{routes_content and routes_source need routes_file}],
  [{ 'control_plane_addresses' => ['cp'] }, %r{control_plane_addresses}],
  [{ 'control_plane_addresses' => ['cp:18000'] }, %r{needs control_plane_tls_ca_file, or control_plane_plaintext}],
  [{ 'control_plane_addresses' => ['cp:18000'], 'control_plane_plaintext' => true,
     'control_plane_tls_ca_file' => '/ca.pem' }, %r{plaintext cannot be true together with control_plane_tls_}],
  [{ 'control_plane_addresses' => ['cp:18000'], 'control_plane_tls_ca_file' => '/ca.pem',
     'control_plane_tls_cert_file' => '/c.pem' }, %r{cert_file and control_plane_tls_key_file go together}],
  [{ 'control_plane_plaintext' => true }, %r{control_plane_\* settings given without control_plane_addresses}],
  [{ 'control_plane_addresses' => ['cp:18000'], 'control_plane_plaintext' => true,
     'control_plane_tls_key_content' => 'k' }, %r{control_plane_tls_key_content needs control_plane_tls_key_file}],
  [{ 'control_plane_addresses' => ['cp:18000'], 'control_plane_plaintext' => true,
     'control_plane_splay_ms' => 600_001 }, %r{control_plane_splay_ms}],
  [{ 'control_plane_addresses' => ['cp:18000'], 'control_plane_plaintext' => true,
     'control_plane_connect_timeout_ms' => 99 }, %r{control_plane_connect_timeout_ms}],
  [{ 'local_services' => { 'Users' => { 'port' => 80, 'check' => { 'tcp' => true } } } }, %r{local_services}],
  [{ 'local_services' => { 'users' => { 'port' => 0, 'check' => { 'tcp' => true } } } }, %r{local_services}],
  [{ 'local_services' => { 'users' => { 'port' => 80, 'check' => { 'tcp' => false } } } }, %r{local_services}],
  [{ 'local_services' => { 'users' => { 'port' => 80, 'check' => { 'http_path' => 'health' } } } }, %r{local_services}],
  [{ 'local_services' => { 'users' => { 'port' => 80 } } }, %r{local_services}],
  [{ 'local_services' => { 'users' => { 'port' => 80, 'check' => { 'tcp' => true }, 'weight' => 1 } } },
   %r{local_services}],
  [{ 'local_services' => { 'users' => { 'port' => 80, 'check' => { 'tcp' => true }, 'rise' => 101 } } },
   %r{local_services}],
  [{ 'local_services' => { 'users' => { 'port' => 80, 'check' => { 'tcp' => true }, 'interval_ms' => 400 } } },
   %r{local_services\['users'\] timeout_ms \(500\) is longer than interval_ms \(400\)}],
  [{ 'inotify_max_user_instances' => 127 }, %r{parameter 'inotify_max_user_instances' expects an Integer\[128, 2147483647\] value}],
  [{ 'inotify_max_user_instances' => 2_147_483_648 }, %r{inotify_max_user_instances}],
  [{ 'inotify_max_user_instances' => '65536' }, %r{parameter 'inotify_max_user_instances' expects an Integer}],
  [{ 'inotify_max_user_watches' => 8191 }, %r{parameter 'inotify_max_user_watches' expects an Integer\[8192, 2147483647\] value}],
  [{ 'inotify_max_user_watches' => 1.5e6 }, %r{inotify_max_user_watches}],
  [{ 'manage_inotify_sysctl' => 'true' }, %r{manage_inotify_sysctl}],
  [{ 'manage_service' => 'yes' }, %r{manage_service}],
  [{ 'service_ensure' => 'restarted' }, %r{service_ensure}],
].freeze

describe 'envoy_agent' do
  it 'tests exactly the operating systems of metadata.json' do
    expect(SUPPORTED_OS.keys.sort).to eq(metadata_os_keys)
  end

  SUPPORTED_OS.each do |os, facts|
    context "on #{os}" do
      let(:facts) { facts }

      context 'with defaults' do
        it { is_expected.to compile.with_all_deps }
        it { is_expected.to contain_class('envoy_agent::install').that_comes_before('Class[envoy_agent::config]') }
        it { is_expected.to contain_class('envoy_agent::config').that_notifies('Class[envoy_agent::service]') }
        it { is_expected.to contain_class('envoy_agent::service') }
        it { is_expected.to contain_package('envoy-agent').with_ensure('installed') }
        it { is_expected.not_to contain_package('envoy') }
        it { is_expected.to contain_file('/etc/envoy-agent').with(ensure: 'directory', owner: 'root', mode: '0755') }

        it {
          is_expected.to contain_file(AGENT_YAML).with(
            ensure: 'file', owner: 'root', group: 'root', mode: '0644',
            validate_cmd: '/usr/bin/envoy-agent validate --config %',
            content: DEFAULT_AGENT_YAML,
          )
        }

        it { is_expected.not_to contain_file('/etc/envoy-agent/routes.yaml') }

        it {
          is_expected.to contain_service('envoy-agent').with(
            ensure: 'running', enable: true, hasstatus: true,
            restart: '/bin/systemctl reload envoy-agent',
          )
        }

        it 'reloads the service when agent.yaml changes' do
          is_expected.to contain_file(AGENT_YAML).that_notifies('Service[envoy-agent]')
        end

        it { is_expected.to contain_file(SYSCTL_FILE).with(ensure: 'file', owner: 'root', group: 'root', mode: '0644', content: DEFAULT_SYSCTL) }

        {
          'fs.inotify.max_user_instances' => ['/proc/sys/fs/inotify/max_user_instances', 65_536],
          'fs.inotify.max_user_watches' => ['/proc/sys/fs/inotify/max_user_watches', 1_048_576],
        }.each do |key, (proc, value)|
          it "raises #{key} only when the running value is lower and /proc/sys is writable" do
            is_expected.to contain_exec("envoy_agent raise #{key}").with(
              command: "echo #{value} > #{proc}",
              onlyif: "test -w #{proc} && test \"$(cat #{proc})\" -lt #{value}",
              provider: 'shell', refreshonly: nil,
            ).that_requires("File[#{SYSCTL_FILE}]")
          end
        end

        it 'sets the inotify limits before the package (its post-install raises to them), so before the service' do
          is_expected.to contain_class('envoy_agent::sysctl').that_comes_before('Class[envoy_agent::install]')
          is_expected.to contain_file(SYSCTL_FILE).that_comes_before('Package[envoy-agent]')
          is_expected.to contain_exec('envoy_agent raise fs.inotify.max_user_instances').that_comes_before('Package[envoy-agent]')
          expect(catalogue.resource('Class', 'Envoy_agent::Sysctl')[:notify]).to be_nil
          expect { is_expected.to contain_file(SYSCTL_FILE).that_notifies('Service[envoy-agent]') }
            .to raise_error(RSpec::Expectations::ExpectationNotMetError)
        end

        it 'never restarts or reloads the service for a package change (the package hands over itself)' do
          expect(catalogue.resource('Class', 'Envoy_agent::Install')[:notify]).to be_nil
          expect(catalogue.resource('Package', 'envoy-agent')[:notify]).to be_nil
          expect(catalogue.resource('Class', 'Envoy_agent::Service')[:subscribe]).to be_nil
          expect(catalogue.resource('Service', 'envoy-agent')[:subscribe]).to be_nil
          is_expected.to contain_package('envoy-agent').that_comes_before("File[#{AGENT_YAML}]")
          expect { is_expected.to contain_package('envoy-agent').that_notifies('Service[envoy-agent]') }
            .to raise_error(RSpec::Expectations::ExpectationNotMetError)
        end
      end

      context 'with every parameter set' do
        let(:params) { FULL_PARAMS }

        it { is_expected.to compile.with_all_deps }
        it { is_expected.to contain_package('envoy-agent').with_ensure('0.1.0-1') }
        it { is_expected.to contain_package('envoy').with_ensure('latest').that_comes_before('File[/etc/envoy-agent/agent.yaml]') }
        it { is_expected.to contain_file(AGENT_YAML).with_content(FULL_AGENT_YAML) }

        it {
          is_expected.to contain_file('/etc/envoy-agent/routes.yaml').with(
            content: "version: \"7\"\nservices: []\n", mode: '0644',
            validate_cmd: '/usr/bin/envoy-agent validate --routes %',
          ).that_comes_before("File[#{AGENT_YAML}]").that_notifies('Service[envoy-agent]')
        }

        it { is_expected.to contain_file('envoy_agent tls ca').with(path: '/etc/envoy-agent/tls/ca.pem', content: "CA PEM\n", mode: '0644') }
        it { is_expected.to contain_file('envoy_agent tls cert').with(path: '/etc/envoy-agent/tls/agent.pem', mode: '0644') }

        it 'writes the key readable by the agent group only, never in a diff' do
          is_expected.to contain_file('envoy_agent tls key').with(
            path: '/etc/envoy-agent/tls/agent.key', owner: 'root', group: 'envoy-agent', mode: '0640', show_diff: false,
          ).that_comes_before("File[#{AGENT_YAML}]").that_notifies('Service[envoy-agent]')
          key = catalogue.resource('File', 'envoy_agent tls key')
          expect(key.sensitive_parameters).to include(:content)
          expect(key[:content]).to eq("KEY PEM\n")
        end
      end
    end
  end

  context 'on debian-12-x86_64, each parameter on its own' do
    let(:facts) { SUPPORTED_OS['debian-12-x86_64'] }

    {
      { 'node_id' => 'host-a' } => %r{^  id: "host-a"$},
      { 'node_id' => 'auto', 'ec2' => 'auto' } => %r{^  id: "auto"$},
      { 'node_cluster' => 'payments' } => %r{^  cluster: "payments"$},
      { 'node_zone' => 'eu-west-1b' } => %r{^  zone: "eu-west-1b"$},
      { 'node_address' => 'fd00::12' } => %r{^  address: "fd00::12"$},
      { 'routes_file' => '/srv/routes.json' } => %r{^routes:\n  file: "/srv/routes.json"\nenvoy:$},
      { 'routes_file' => false, 'control_plane_addresses' => ['cp:18000'], 'control_plane_plaintext' => true } =>
        %r{^routes:\n  control_plane:\n    addresses:\n      - "cp:18000"\n    plaintext: true\nenvoy:$},
      { 'control_plane_addresses' => ['cp:18000'], 'control_plane_tls_ca_file' => '/etc/ssl/cp.pem' } =>
        %r{^    tls:\n      ca_file: "/etc/ssl/cp.pem"\nenvoy:$},
      { 'envoy_binary' => '/usr/local/bin/envoy' } => %r{^  binary: "/usr/local/bin/envoy"$},
      { 'envoy_config_dir' => '/var/lib/envoy-agent/x' } => %r{^  config_dir: "/var/lib/envoy-agent/x"$},
      { 'envoy_admin_port' => 9000 } => %r{^  admin_port: 9000$},
      { 'envoy_base_id' => 3 } => %r{^  base_id: 3$},
      { 'envoy_drain_time_s' => 5, 'envoy_parent_shutdown_time_s' => 6 } => %r{^  drain_time_s: 5\n  parent_shutdown_time_s: 6$},
      { 'envoy_delivery' => 'restart' } => %r{^  delivery: "restart"$},
      { 'envoy_concurrency' => 1 } => %r{^  concurrency: 1$},
      { 'envoy_ready_timeout_s' => 3600 } => %r{^  ready_timeout_s: 3600$},
      { 'envoy_stop_timeout_s' => 1 } => %r{^  stop_timeout_s: 1$},
      { 'state_dir' => '/var/lib/envoy-agent/state' } => %r{^state_dir: "/var/lib/envoy-agent/state"$},
      { 'admin_listen' => '[::1]:9999' } => %r{^  listen: "\[::1\]:9999"\n  allow_remote: false$},
      { 'admin_listen' => 'localhost:9999' } => %r{^  listen: "localhost:9999"$},
      { 'admin_listen' => '10.0.0.1:9902', 'admin_allow_remote' => true } => %r{^  listen: "10.0.0.1:9902"\n  allow_remote: true$},
      { 'history_keep' => 1000 } => %r{^history:\n  keep: 1000$},
      { 'restart_min_interval_ms' => 0 } => %r{^restart:\n  min_interval_ms: 0$},
      { 'restart_debounce_ms' => 60_000 } => %r{^  debounce_ms: 60000$},
      { 'heartbeat_interval_ms' => 600_000 } => %r{^heartbeat:\n  interval_ms: 600000$},
      { 'heartbeat_timeout_ms' => 50 } => %r{^  timeout_ms: 50$},
      { 'local_services' => { 'a.b_c-d' => { 'port' => 1, 'check' => { 'tcp' => true }, 'fall' => 100 } } } =>
        %r{^local_services:\n  - name: "a.b_c-d"\n    port: 1\n    check:\n      tcp: true\n    fall: 100\nlogging:$},
      { 'logging_format' => 'json' } => %r{^logging:\n  format: "json"$},
      { 'metrics_statsd' => 'statsd.local:8125' } => %r{^metrics:\n  statsd: "statsd.local:8125"\n# Quoted},
      { 'metrics_statsd_interval_ms' => 1000 } => %r{^metrics:\n  statsd_interval_ms: 1000\n# Quoted},
      { 'ec2' => 'off' } => %r{^ec2: "off"$},
      { 'ec2' => 'on' } => %r{^ec2: "on"$},
    }.each do |params, expected|
      context "with #{params.inspect}" do
        let(:params) { params }

        it { is_expected.to contain_file(AGENT_YAML).with_content(expected) }
      end
    end

    context 'with package_ensure => latest' do
      let(:params) { { 'package_ensure' => 'latest' } }

      it { is_expected.to contain_package('envoy-agent').with_ensure('latest') }
    end

    context 'with a custom package, service and config path' do
      let(:params) do
        { 'package_name' => 'envoy-agent-custom', 'service_name' => 'ea', 'config_dir' => '/opt/ea',
          'config_file' => '/opt/ea/agent.yaml', 'agent_binary' => '/opt/ea/bin/envoy-agent' }
      end

      it { is_expected.to contain_package('envoy-agent-custom') }
      it { is_expected.to contain_file('/opt/ea/agent.yaml').with_validate_cmd('/opt/ea/bin/envoy-agent validate --config %') }
      it { is_expected.to contain_service('ea').with_restart('/bin/systemctl reload ea') }
      it { is_expected.to contain_file('/opt/ea/agent.yaml').that_notifies('Service[ea]') }
    end

    context 'with the key given as Sensitive and routes from a source' do
      let(:params) do
        { 'routes_source' => 'puppet:///modules/profile/routes.yaml', 'agent_group' => 'svc',
          'control_plane_addresses' => ['cp:18000'], 'control_plane_tls_ca_file' => '/tls/ca.pem',
          'control_plane_tls_cert_file' => '/tls/a.pem', 'control_plane_tls_key_file' => '/tls/a.key',
          'control_plane_tls_key_content' => sensitive('SECRET') }
      end

      it { is_expected.to contain_file('/etc/envoy-agent/routes.yaml').with_source('puppet:///modules/profile/routes.yaml') }
      it { is_expected.to contain_file('envoy_agent tls key').with(group: 'svc', mode: '0640') }
      it { is_expected.not_to contain_file('envoy_agent tls ca') }
    end

    context 'with validate_config => false' do
      let(:params) { { 'validate_config' => false, 'routes_content' => "version: \"1\"\n" } }

      it { is_expected.to contain_file(AGENT_YAML).without_validate_cmd }
      it { is_expected.to contain_file('/etc/envoy-agent/routes.yaml').without_validate_cmd }
    end

    context 'with manage_package => false' do
      let(:params) { { 'manage_package' => false } }

      it { is_expected.to compile.with_all_deps }
      it { is_expected.not_to contain_package('envoy-agent') }
    end

    context 'with manage_service => false (no reload to wire)' do
      let(:params) { { 'manage_service' => false, 'routes_content' => "version: \"1\"\n" } }

      it { is_expected.to compile.with_all_deps }
      it { is_expected.not_to contain_service('envoy-agent') }
      it { is_expected.to contain_file(AGENT_YAML) }
    end

    context 'with other inotify limits' do
      let(:params) { { 'inotify_max_user_instances' => 128, 'inotify_max_user_watches' => 2_147_483_647 } }

      it { is_expected.to contain_file(SYSCTL_FILE).with_content(%r{^fs\.inotify\.max_user_instances = 128\nfs\.inotify\.max_user_watches = 2147483647\n\z}) }

      it {
        is_expected.to contain_exec('envoy_agent raise fs.inotify.max_user_instances').with(
          command: 'echo 128 > /proc/sys/fs/inotify/max_user_instances',
          onlyif: 'test -w /proc/sys/fs/inotify/max_user_instances && test "$(cat /proc/sys/fs/inotify/max_user_instances)" -lt 128',
        )
      }

      it { is_expected.to contain_exec('envoy_agent raise fs.inotify.max_user_watches').with_command('echo 2147483647 > /proc/sys/fs/inotify/max_user_watches') }
    end

    context 'with manage_inotify_sysctl => false' do
      let(:params) { { 'manage_inotify_sysctl' => false } }

      it { is_expected.to compile.with_all_deps }
      it { is_expected.not_to contain_file(SYSCTL_FILE) }
      it { is_expected.not_to contain_exec('envoy_agent raise fs.inotify.max_user_instances') }
      it { is_expected.not_to contain_exec('envoy_agent raise fs.inotify.max_user_watches') }
    end

    context 'with service_ensure => stopped, service_enable => false' do
      let(:params) { { 'service_ensure' => 'stopped', 'service_enable' => false } }

      it { is_expected.to contain_service('envoy-agent').with(ensure: 'stopped', enable: false) }
    end

    context 'with Hiera data overriding the module defaults' do
      let(:hiera_config) { File.join(FIXTURES, 'hiera', 'hiera.yaml') }

      it { is_expected.to contain_file(AGENT_YAML).with_content(%r{^  cluster: "from-hiera"$}) }
    end

    INVALID.each do |params, message|
      context "with invalid #{params.inspect}" do
        let(:params) { params }

        it { is_expected.to compile.and_raise_error(message) }
      end
    end

    # The rendered files are what the agent itself accepts (skipped when the agent is not built).
    { 'defaults' => {}, 'every parameter' => FULL_PARAMS }.each do |name, params|
      context "validated by envoy-agent (#{name})" do
        let(:params) { params }

        it 'passes `envoy-agent validate --config`' do
          skip 'agent not built (agent/target/envoy-agent) and ENVOY_AGENT_CLI unset' unless agent_cli
          Dir.mktmpdir do |dir|
            file = File.join(dir, 'agent.yaml')
            File.write(file, catalogue.resource('File', AGENT_YAML)[:content])
            out, status = Open3.capture2e(agent_cli, 'validate', '--config', file)
            expect(status.exitstatus).to eq(0), out
          end
        end
      end
    end
  end
end

# frozen_string_literal: true

# rspec-puppet with Debian's packages only (no Bundler, no facterdb): the module path is the
# fixtures (rspec-puppet links this module there itself) plus Debian's stdlib, and the facts of each
# supported OS are written by hand below (facterdb has no Debian 12).
require 'rspec-puppet'
require 'json'

FIXTURES = File.expand_path('fixtures', __dir__)

RSpec.configure do |c|
  c.module_path = [File.join(FIXTURES, 'modules'), '/usr/share/puppet/modules'].join(File::PATH_SEPARATOR)
  c.manifest = File.join(FIXTURES, 'manifests', 'site.pp')
  c.strict_variables = true
  c.default_facts = {
    'kernel' => 'Linux',
    'path' => '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  }
end

def os_facts(name, family, major, full, codename)
  {
    'kernel' => 'Linux',
    'osfamily' => family,
    'operatingsystem' => name,
    'operatingsystemmajrelease' => major,
    'service_provider' => 'systemd',
    'os' => {
      'name' => name,
      'family' => family,
      'release' => { 'major' => major, 'full' => full },
      'distro' => { 'codename' => codename },
      'architecture' => 'amd64',
    },
    'networking' => { 'hostname' => 'web-1', 'fqdn' => 'web-1.example.internal', 'ip' => '10.0.0.12' },
    'path' => '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  }
end

# Every OS in metadata.json, by the same names `on_supported_os` would use.
SUPPORTED_OS = {
  'debian-12-x86_64' => os_facts('Debian', 'Debian', '12', '12.5', 'bookworm'),
  'ubuntu-22.04-x86_64' => os_facts('Ubuntu', 'Debian', '22.04', '22.04', 'jammy'),
  'ubuntu-24.04-x86_64' => os_facts('Ubuntu', 'Debian', '24.04', '24.04', 'noble'),
  'amazon-2023-x86_64' => os_facts('Amazon', 'RedHat', '2023', '2023.4.20240401', nil),
}.freeze

# Fails when metadata.json and SUPPORTED_OS disagree, so neither can drift.
def metadata_os_keys
  metadata = JSON.parse(File.read(File.expand_path('../metadata.json', __dir__)))
  metadata['operatingsystem_support'].flat_map do |os|
    os['operatingsystemrelease'].map { |rel| "#{os['operatingsystem'].downcase}-#{rel}-x86_64" }
  end.sort
end

# The agent's CLI, when built or installed: rendered agent.yaml files are checked with
# `envoy-agent validate --config` (ENVOY_AGENT_CLI overrides; empty disables).
def agent_cli
  cli = ENV.fetch('ENVOY_AGENT_CLI') { File.expand_path('../../agent/target/envoy-agent', __dir__) }
  (!cli.empty? && File.executable?(cli)) ? cli : nil
end

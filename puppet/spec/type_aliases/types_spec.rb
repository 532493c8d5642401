# frozen_string_literal: true

require 'spec_helper'

# Each type alias against values the agent accepts and values it refuses (AgentConfigLoader).
{
  'Envoy_agent::Name' => [
    ['i-0123456789abcdef0', 'web', 'a.b_c:d-e', 'A' * 128, 'auto'],
    ['', '-web', 'web cluster', 'a/b', 'A' * 129, 1],
  ],
  'Envoy_agent::Zone' => [
    ['us-east-1a', 'zone-a', '1'],
    ['US-EAST-1A', '-a', 'a_b', '', 'a' * 65],
  ],
  'Envoy_agent::Hostport' => [
    ['127.0.0.1:9902', 'localhost:1', '[::1]:9902', '[fd00::1]:65535', 'cp-1.example.internal:18000'],
    ['127.0.0.1', ':9902', '127.0.0.1:0', '127.0.0.1:65536', '::1:9902', 'host:port', 'a b:1', '127.0.0.1:09902'],
  ],
  'Envoy_agent::Servicename' => [
    ['users', 'a.b_c-d', '0svc', 'a' * 63],
    ['Users', '_svc', '', 'a' * 64, 'a b'],
  ],
  'Envoy_agent::Check' => [
    [{ 'http_path' => '/health' }, { 'http_path' => '/' }, { 'tcp' => true }],
    [{ 'http_path' => 'health' }, { 'tcp' => false }, { 'http_path' => '/h', 'tcp' => true }, {}, { 'grpc' => true }],
  ],
  'Envoy_agent::Localservice' => [
    [{ 'port' => 8080, 'check' => { 'tcp' => true } },
     { 'port' => 65_535, 'check' => { 'http_path' => '/h' }, 'interval_ms' => 100, 'timeout_ms' => 10, 'rise' => 1, 'fall' => 100 }],
    [{ 'port' => 8080 }, { 'check' => { 'tcp' => true } }, { 'port' => 70_000, 'check' => { 'tcp' => true } },
     { 'port' => 80, 'check' => { 'tcp' => true }, 'interval_ms' => 99 },
     { 'port' => 80, 'check' => { 'tcp' => true }, 'timeout_ms' => 60_001 },
     { 'port' => 80, 'check' => { 'tcp' => true }, 'fall' => 0 },
     { 'port' => 80, 'check' => { 'tcp' => true }, 'name' => 'x' }],
  ],
  'Envoy_agent::Packageensure' => [
    ['installed', 'present', 'latest', '0.1.0-1', '0.1.0~SNAPSHOT', '1:2.3+deb12u1'],
    ['absent', 'purged', '', 'v1.0', 'latest '],
  ],
  'Envoy_agent::Ec2mode' => [
    ['auto', 'on', 'off'],
    [true, false, 'yes', 'ON', ''],
  ],
}.each do |type, (good, bad)|
  describe type do
    good.each { |value| it { is_expected.to allow_value(value) } }
    bad.each { |value| it { is_expected.not_to allow_value(value) } }
  end
end

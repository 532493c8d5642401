# A host serving a static routes file managed by Puppet, with two local services checked.
class { 'envoy_agent':
  node_cluster   => 'web',
  node_zone      => 'us-east-1a',
  routes_content => @(ROUTES),
    version: "1"
    services:
      - name: users
        protocol: HTTP
        local_port: 10080
        endpoints:
          - { address: 10.0.1.5, port: 8080, zone: us-east-1a }
    | ROUTES
  local_services => {
    'users' => { 'port' => 8080, 'check' => { 'http_path' => '/health' } },
    'cache' => { 'port' => 11211, 'check' => { 'tcp' => true }, 'interval_ms' => 2000, 'fall' => 3 },
  },
}

# @summary A service this host serves, checked locally and reported in heartbeats.
#
# The service's name is the key of the `local_services` hash. Omitted keys take the agent's
# defaults: `interval_ms` 1000, `timeout_ms` 500 (at most the interval), `rise` 2, `fall` 2.
#
# @example
#   { 'port' => 8080, 'check' => { 'http_path' => '/health' }, 'interval_ms' => 2000, 'rise' => 3 }
type Envoy_agent::Localservice = Struct[{
  'port'                  => Integer[1, 65535],
  'check'                 => Envoy_agent::Check,
  Optional['interval_ms'] => Integer[100, 600000],
  Optional['timeout_ms']  => Integer[10, 60000],
  Optional['rise']        => Integer[1, 100],
  Optional['fall']        => Integer[1, 100],
}]

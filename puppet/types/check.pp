# @summary How a local service is checked: an HTTP path (2xx is up) or a TCP connect.
#
# @example HTTP
#   { 'http_path' => '/health' }
# @example TCP
#   { 'tcp' => true }
type Envoy_agent::Check = Variant[
  Struct[{ 'http_path' => Pattern[/\A\/\S*\z/] }],
  Struct[{ 'tcp' => Boolean[true] }],
]

# @summary A `host:port` or `[v6]:port` address, port 1-65535.
#
# Used for `admin.listen`, `routes.control_plane.addresses` and `metrics.statsd`.
type Envoy_agent::Hostport = Pattern[
  /\A(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])\z/
]

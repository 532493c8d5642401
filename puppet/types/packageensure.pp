# @summary A package's `ensure`: `installed`, `latest` or a pinned version (e.g. `0.1.0-1`).
type Envoy_agent::Packageensure = Variant[
  Enum['installed', 'present', 'latest'],
  Pattern[/\A[0-9][A-Za-z0-9.+~:_-]*\z/],
]

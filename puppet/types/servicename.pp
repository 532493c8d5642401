# @summary A routes service name (`local_services[].name`).
#
# Lowercase letters, digits, `.`, `_` and `-`, starting with a letter or digit; at most 63.
type Envoy_agent::Servicename = Pattern[/\A[a-z0-9][a-z0-9._-]{0,62}\z/]

# @summary A node id or cluster name as the agent accepts it (`node.id`, `node.cluster`).
#
# 1-128 letters, digits, `.`, `_`, `:` or `-`, starting with a letter or digit.
type Envoy_agent::Name = Pattern[/\A[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\z/]

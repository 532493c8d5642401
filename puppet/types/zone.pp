# @summary An availability zone (`node.zone`), e.g. `us-east-1a`.
type Envoy_agent::Zone = Pattern[/\A[a-z0-9][a-z0-9-]{0,63}\z/]

# @summary The agent's use of EC2 instance metadata (`ec2`).
#
# `auto`: use IMDSv2 when it answers, `on`: required, `off`: never ask.
type Envoy_agent::Ec2mode = Enum['auto', 'on', 'off']

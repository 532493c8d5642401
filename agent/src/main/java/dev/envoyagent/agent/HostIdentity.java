package dev.envoyagent.agent;

import dev.envoyagent.config.AgentSettings;
import dev.envoyagent.config.AgentSettings.NodeSettings;
import dev.envoyagent.ec2.InstanceIdentity;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;

/**
 * Fills in who this host is from EC2 instance metadata where the configuration leaves it open
 * ({@code node.id: auto}, no zone, no address). Configured values always win. The instance identity
 * is read once at start; a reloaded agent.yaml is resolved against the same one.
 */
record HostIdentity(Optional<InstanceIdentity> instance) {

  static final String AUTO = "auto";

  AgentSettings applyTo(AgentSettings settings) {
    NodeSettings configured = settings.node();
    String id = configured.id();
    if (id.equals(AUTO)) {
      // Off EC2 (a laptop, CI) the host name is the best stable name there is.
      id = instance.map(InstanceIdentity::instanceId).orElseGet(HostIdentity::hostName);
    }
    String zone =
        configured.zone().isEmpty()
            ? instance.map(InstanceIdentity::availabilityZone).orElse("")
            : configured.zone();
    String address =
        configured.address().isEmpty()
            ? instance.map(InstanceIdentity::privateIpv4).orElse("")
            : configured.address();
    return settings.withNode(new NodeSettings(id, configured.cluster(), zone, address));
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }
}

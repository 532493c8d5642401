package dev.envoyagent.testkit.imds;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The static facts an emulated instance reports: what IMDS serves under {@code meta-data/} and in
 * the identity document. Immutable; change one field with a {@code with…} copy.
 */
public record InstanceProfile(
    String instanceId,
    String instanceType,
    String amiId,
    String accountId,
    String region,
    String availabilityZone,
    String availabilityZoneId,
    String privateIpv4,
    String mac,
    Map<String, String> tags) {

  public InstanceProfile {
    Objects.requireNonNull(instanceId, "instanceId");
    Objects.requireNonNull(instanceType, "instanceType");
    Objects.requireNonNull(amiId, "amiId");
    Objects.requireNonNull(accountId, "accountId");
    Objects.requireNonNull(region, "region");
    Objects.requireNonNull(availabilityZone, "availabilityZone");
    Objects.requireNonNull(availabilityZoneId, "availabilityZoneId");
    Objects.requireNonNull(privateIpv4, "privateIpv4");
    Objects.requireNonNull(mac, "mac");
    // Sorted, so tags/instance lists keys in a stable order.
    tags = Collections.unmodifiableMap(new TreeMap<>(tags));
  }

  /** A plausible us-east-1 instance with two tags. */
  public static InstanceProfile defaults() {
    return new InstanceProfile(
        "i-0123456789abcdef0",
        "m6i.large",
        "ami-0abcdef1234567890",
        "123456789012",
        "us-east-1",
        "us-east-1a",
        "use1-az4",
        "10.0.1.23",
        "0e:49:61:0f:c3:11",
        Map.of("Name", "envoy-agent-test", "team", "platform"));
  }

  public InstanceProfile withInstanceId(String id) {
    return new InstanceProfile(
        id,
        instanceType,
        amiId,
        accountId,
        region,
        availabilityZone,
        availabilityZoneId,
        privateIpv4,
        mac,
        tags);
  }

  public InstanceProfile withPlacement(String newRegion, String zone, String zoneId) {
    return new InstanceProfile(
        instanceId,
        instanceType,
        amiId,
        accountId,
        newRegion,
        zone,
        zoneId,
        privateIpv4,
        mac,
        tags);
  }

  public InstanceProfile withPrivateIpv4(String ip) {
    return new InstanceProfile(
        instanceId,
        instanceType,
        amiId,
        accountId,
        region,
        availabilityZone,
        availabilityZoneId,
        ip,
        mac,
        tags);
  }

  public InstanceProfile withTags(Map<String, String> newTags) {
    return new InstanceProfile(
        instanceId,
        instanceType,
        amiId,
        accountId,
        region,
        availabilityZone,
        availabilityZoneId,
        privateIpv4,
        mac,
        newTags);
  }

  /**
   * EC2's internal host name: {@code ip-10-0-1-23.ec2.internal} in us-east-1, else {@code
   * <region>.compute.internal}.
   */
  public String localHostname() {
    String host = "ip-" + privateIpv4.replace('.', '-');
    return "us-east-1".equals(region)
        ? host + ".ec2.internal"
        : host + "." + region + ".compute.internal";
  }
}

package dev.envoyagent.ec2;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Who this EC2 instance is, read once from IMDSv2. {@code tags} is empty when the instance does not
 * expose tags in metadata. {@code identityDocument} is the exact text IMDS served and {@code
 * identitySignature} its {@code rsa2048} PKCS7 signature (base64), which a control plane verifies
 * against AWS's certificate for {@code region}; they are kept byte for byte, since any re-encoding
 * would break the signature.
 */
public record InstanceIdentity(
    String instanceId,
    String region,
    String availabilityZone,
    String availabilityZoneId,
    String privateIpv4,
    String instanceType,
    String amiId,
    Map<String, String> tags,
    String identityDocument,
    String identitySignature) {

  public InstanceIdentity {
    Objects.requireNonNull(instanceId, "instanceId");
    Objects.requireNonNull(region, "region");
    Objects.requireNonNull(availabilityZone, "availabilityZone");
    Objects.requireNonNull(availabilityZoneId, "availabilityZoneId");
    Objects.requireNonNull(privateIpv4, "privateIpv4");
    Objects.requireNonNull(instanceType, "instanceType");
    Objects.requireNonNull(amiId, "amiId");
    Objects.requireNonNull(identityDocument, "identityDocument");
    Objects.requireNonNull(identitySignature, "identitySignature");
    // Sorted so heartbeats built from it are deterministic.
    tags = Collections.unmodifiableMap(new TreeMap<>(tags));
  }
}

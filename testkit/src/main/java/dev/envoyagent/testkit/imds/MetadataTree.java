package dev.envoyagent.testkit.imds;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * IMDS paths as a flat map of leaf path → text. A path that is not a leaf but prefixes leaves
 * answers with its children, LF-separated, sub-directories with a trailing {@code /} (as IMDS lists
 * {@code meta-data/}).
 */
final class MetadataTree {
  static final String META = "/latest/meta-data/";
  static final String DYNAMIC = "/latest/dynamic/";
  static final String SPOT = META + "spot/instance-action";
  static final String LIFECYCLE = META + "autoscaling/target-lifecycle-state";
  static final String MAINTENANCE = META + "events/maintenance/scheduled";
  static final String REBALANCE = META + "events/recommendations/rebalance";
  static final String TAGS = META + "tags/instance";
  static final String DOCUMENT = DYNAMIC + "instance-identity/document";
  static final String RSA2048 = DYNAMIC + "instance-identity/rsa2048";

  private static final ObjectMapper JSON = new ObjectMapper();

  private MetadataTree() {}

  /** The leaves that never change for an instance. */
  static SortedMap<String, String> staticLeaves(
      InstanceProfile p, String document, String signature) {
    SortedMap<String, String> leaves = new TreeMap<>();
    leaves.put(META + "instance-id", p.instanceId());
    leaves.put(META + "instance-type", p.instanceType());
    leaves.put(META + "ami-id", p.amiId());
    leaves.put(META + "local-hostname", p.localHostname());
    leaves.put(META + "hostname", p.localHostname());
    leaves.put(META + "local-ipv4", p.privateIpv4());
    leaves.put(META + "mac", p.mac());
    leaves.put(META + "placement/availability-zone", p.availabilityZone());
    leaves.put(META + "placement/availability-zone-id", p.availabilityZoneId());
    leaves.put(META + "placement/region", p.region());
    String nic = META + "network/interfaces/macs/" + p.mac() + "/";
    leaves.put(nic + "device-number", "0");
    leaves.put(nic + "local-ipv4s", p.privateIpv4());
    leaves.put(nic + "mac", p.mac());
    leaves.put(DOCUMENT, document);
    leaves.put(RSA2048, signature);
    return leaves;
  }

  /** {@code tags/instance} (the keys) and {@code tags/instance/<key>}. */
  static Map<String, String> tagLeaves(Map<String, String> tags) {
    Map<String, String> leaves = new TreeMap<>();
    tags.forEach((k, v) -> leaves.put(TAGS + "/" + k, v));
    return leaves;
  }

  /**
   * The identity document as IMDS prints it: pretty JSON with {@code " : "} separators and null
   * fields.
   */
  static String identityDocument(InstanceProfile p, Instant pendingTime) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("accountId", p.accountId());
    doc.put("architecture", "x86_64");
    doc.put("availabilityZone", p.availabilityZone());
    doc.put("billingProducts", null);
    doc.put("devpayProductCodes", null);
    doc.put("marketplaceProductCodes", null);
    doc.put("imageId", p.amiId());
    doc.put("instanceId", p.instanceId());
    doc.put("instanceType", p.instanceType());
    doc.put("kernelId", null);
    doc.put("pendingTime", pendingTime.toString());
    doc.put("privateIp", p.privateIpv4());
    doc.put("ramdiskId", null);
    doc.put("region", p.region());
    doc.put("version", "2017-09-30");
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(doc);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The text at {@code path}: a leaf, or the listing of a directory; empty when absent (404). */
  static Optional<String> lookup(SortedMap<String, String> leaves, String path) {
    String leaf = leaves.get(path);
    if (leaf != null) {
      return Optional.of(leaf);
    }
    String dir = path.endsWith("/") ? path : path + "/";
    TreeSet<String> children = new TreeSet<>();
    for (String key : leaves.tailMap(dir).keySet()) {
      if (!key.startsWith(dir)) {
        break;
      }
      String rest = key.substring(dir.length());
      int slash = rest.indexOf('/');
      children.add(slash < 0 ? rest : rest.substring(0, slash + 1));
    }
    return children.isEmpty() ? Optional.empty() : Optional.of(String.join("\n", children));
  }
}

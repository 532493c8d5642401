package dev.envoyagent.controlplane;

import dev.envoyagent.api.v1.Endpoint;
import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.api.v1.Service;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Base snapshot + registered endpoints → the snapshot served, with a version that is a function of
 * its content: {@code <base version>.<first 8 hex of sha256>}. Pure and deterministic, so two
 * control planes given the same inputs serve the same version, and a restart does not make every
 * agent re-apply.
 */
public final class SnapshotMerge {

  /** Room left in the 128-character version for the '.' and 8 hex digits. */
  static final int MAX_BASE_VERSION = 128 - 9;

  private SnapshotMerge() {}

  /**
   * Adds each registered endpoint to the base service of the same name, after the base's own
   * endpoints, unless the base already lists that address and port. Names the base does not have
   * are ignored.
   */
  public static RouteSnapshot merge(RouteSnapshot base, Map<String, List<Endpoint>> registered) {
    RouteSnapshot.Builder merged = base.toBuilder().clearVersion();
    for (Service.Builder service : merged.getServicesBuilderList()) {
      List<Endpoint> extra = registered.getOrDefault(service.getName(), List.of());
      if (extra.isEmpty()) {
        continue;
      }
      Set<String> listed = new HashSet<>();
      service.getEndpointsList().forEach(e -> listed.add(key(e)));
      for (Endpoint endpoint : extra) {
        if (listed.add(key(endpoint))) {
          service.addEndpoints(endpoint);
        }
      }
    }
    return merged.setVersion(version(base.getVersion(), merged.build())).build();
  }

  /**
   * {@code <base version>.<8 hex>}; the base version is cut so the whole stays within 128
   * characters.
   */
  static String version(String baseVersion, RouteSnapshot content) {
    String prefix =
        baseVersion.length() > MAX_BASE_VERSION
            ? baseVersion.substring(0, MAX_BASE_VERSION)
            : baseVersion;
    return prefix + "." + HexFormat.of().formatHex(sha256(canonicalBytes(content)), 0, 4);
  }

  /**
   * Services in name order and no version: the bytes depend only on what an agent would render.
   * Protobuf's serialisation of a message without maps is deterministic; hashCode() never is.
   */
  static byte[] canonicalBytes(RouteSnapshot content) {
    RouteSnapshot.Builder canonical = content.toBuilder().clearVersion().clearServices();
    content.getServicesList().stream()
        .sorted(Comparator.comparing(Service::getName))
        .forEach(canonical::addServices);
    return canonical.build().toByteArray();
  }

  private static String key(Endpoint endpoint) {
    return endpoint.getAddress() + "|" + Integer.toUnsignedString(endpoint.getPort());
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}

package dev.envoyagent.testkit.envoy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Name resolution for STRICT_DNS and LOGICAL_DNS clusters. With {@code ENVOY_SIM_HOSTS_FILE=<path>}
 * every lookup is answered from that hosts(5) file (re-read when it changes) and a name it lacks
 * fails like NXDOMAIN, so no test lookup leaves the machine; without it the system resolver
 * answers. Envoy resolves asynchronously on its dispatcher; callers run this off the dispatcher.
 */
final class Dns {
  static final String HOSTS_FILE_ENV = "ENVOY_SIM_HOSTS_FILE";

  private final Path hostsFile;
  private Map<String, List<InetAddress>> table = Map.of();
  private long loadedModified = -1;

  Dns(Path hostsFile) {
    this.hostsFile = hostsFile;
  }

  static Dns fromEnvironment() {
    String p = System.getenv(HOSTS_FILE_ENV);
    return new Dns(p == null || p.isBlank() ? null : Path.of(p));
  }

  /** Every address of {@code name}, in file order; throws UnknownHostException like NXDOMAIN. */
  List<InetAddress> resolve(String name) throws UnknownHostException {
    if (UpstreamCluster.isIpLiteral(name)) {
      return List.of(InetAddress.getByName(name));
    }
    if (hostsFile == null) {
      return List.of(InetAddress.getAllByName(name));
    }
    List<InetAddress> found = table().get(name.toLowerCase(Locale.ROOT));
    if (found == null || found.isEmpty()) {
      throw new UnknownHostException(name + ": Name or service not known (" + HOSTS_FILE_ENV + ")");
    }
    return found;
  }

  private synchronized Map<String, List<InetAddress>> table() {
    try {
      long modified = Files.getLastModifiedTime(hostsFile).toMillis();
      if (modified != loadedModified) {
        table = parse(Files.readAllLines(hostsFile));
        loadedModified = modified;
      }
    } catch (IOException e) {
      table = Map.of();
    }
    return table;
  }

  /** hosts(5): "address name [alias...]", '#' starts a comment. */
  static Map<String, List<InetAddress>> parse(List<String> lines) {
    Map<String, List<InetAddress>> out = new HashMap<>();
    for (String line : lines) {
      int hash = line.indexOf('#');
      String[] parts = (hash >= 0 ? line.substring(0, hash) : line).trim().split("\\s+");
      if (parts.length < 2 || !UpstreamCluster.isIpLiteral(parts[0])) {
        continue;
      }
      InetAddress address;
      try {
        address = InetAddress.getByName(parts[0]);
      } catch (UnknownHostException e) {
        continue;
      }
      for (int i = 1; i < parts.length; i++) {
        out.computeIfAbsent(parts[i].toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(address);
      }
    }
    return out;
  }
}

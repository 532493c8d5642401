package dev.envoyagent.render;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Envoy's configuration for one snapshot: the bootstrap, and the watched files (path relative to
 * the config directory → the discovery response it holds). With restart delivery there are no
 * watched files.
 */
public record RenderedConfig(
    String version, Bootstrap bootstrap, SortedMap<String, DiscoveryResponse> watchedFiles) {

  public static final String BOOTSTRAP_FILE = "bootstrap.json";
  public static final String LDS_FILE = "lds.json";
  public static final String CDS_FILE = "cds.json";
  public static final String RDS_DIR = "rds";
  public static final String EDS_DIR = "eds";

  public RenderedConfig {
    watchedFiles = Collections.unmodifiableSortedMap(new TreeMap<>(watchedFiles));
  }

  /**
   * Where Envoy keeps the stats of the file subscription reading {@code watchedFile} ({@code
   * update_success}, {@code update_rejected}, {@code version_text}, ...): the names follow from how
   * this renderer names listeners, clusters, stat prefixes and route configs (all after the
   * service). Each watched file is one subscription, and so one inotify instance in Envoy.
   */
  public static String subscriptionStatPrefix(String watchedFile) {
    if (watchedFile.equals(LDS_FILE)) {
      return "listener_manager.lds.";
    }
    if (watchedFile.equals(CDS_FILE)) {
      return "cluster_manager.cds.";
    }
    if (watchedFile.startsWith(RDS_DIR + "/") && watchedFile.endsWith(".json")) {
      String service =
          watchedFile.substring(RDS_DIR.length() + 1, watchedFile.length() - ".json".length());
      return "http." + service + ".rds." + service + ".";
    }
    if (watchedFile.startsWith(EDS_DIR + "/") && watchedFile.endsWith(".json")) {
      return "cluster."
          + watchedFile.substring(EDS_DIR.length() + 1, watchedFile.length() - ".json".length())
          + ".";
    }
    throw new IllegalArgumentException("not a watched file of this renderer: " + watchedFile);
  }

  /**
   * Serialises every file. Printing proto JSON is most of the cost of applying a large snapshot and
   * the files are independent, so they are printed in parallel.
   */
  public RenderedFiles toFiles() {
    SortedMap<String, byte[]> watched =
        watchedFiles.entrySet().parallelStream()
            .collect(
                Collectors.toMap(
                    Map.Entry::getKey,
                    file -> EnvoyTypes.toJson(file.getValue()),
                    (a, b) -> a,
                    TreeMap::new));
    return new RenderedFiles(version, EnvoyTypes.toJson(bootstrap), watched);
  }
}

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
public record RenderedConfig(String version, Bootstrap bootstrap, SortedMap<String, DiscoveryResponse> watchedFiles) {

  public static final String BOOTSTRAP_FILE = "bootstrap.json";
  public static final String LDS_FILE = "lds.json";
  public static final String CDS_FILE = "cds.json";
  public static final String RDS_DIR = "rds";
  public static final String EDS_DIR = "eds";

  public RenderedConfig {
    watchedFiles = Collections.unmodifiableSortedMap(new TreeMap<>(watchedFiles));
  }

  /**
   * Serialises every file. Printing proto JSON is most of the cost of applying a large snapshot
   * and the files are independent, so they are printed in parallel.
   */
  public RenderedFiles toFiles() {
    SortedMap<String, byte[]> watched = watchedFiles.entrySet().parallelStream()
        .collect(Collectors.toMap(Map.Entry::getKey, file -> EnvoyTypes.toJson(file.getValue()),
            (a, b) -> a, TreeMap::new));
    return new RenderedFiles(version, EnvoyTypes.toJson(bootstrap), watched);
  }
}

package dev.envoyagent.testkit.envoy;

import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import java.nio.file.Files;
import java.nio.file.Path;

/** A file-based config source: the only kind of xDS the simulator serves. */
record PathSource(Path path, Path watchedDirectory) {

  // Envoy still honours these deprecated fields, so the simulator reads them too.
  @SuppressWarnings("deprecation")
  static PathSource of(ConfigSource source, String what) throws ConfigException {
    String path;
    String watched = null;
    if (source.hasPathConfigSource()) {
      path = source.getPathConfigSource().getPath();
      if (source.getPathConfigSource().hasWatchedDirectory()) {
        watched = source.getPathConfigSource().getWatchedDirectory().getPath();
      }
    } else if (!source.getPath().isEmpty()) {
      path = source.getPath();
    } else {
      throw new ConfigException(
          "simulator: "
              + what
              + " must use a path config source (got "
              + source.getConfigSourceSpecifierCase()
              + "); gRPC/ADS xDS is not simulated");
    }
    Path p = Path.of(path);
    if (!Files.exists(p)) {
      throw new ConfigException(
          "paths must refer to an existing path in the system: '" + path + "' does not exist");
    }
    return new PathSource(p, watched == null ? null : Path.of(watched));
  }
}

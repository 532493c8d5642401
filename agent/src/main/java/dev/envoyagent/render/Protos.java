package dev.envoyagent.render;

import com.google.protobuf.Duration;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.PathConfigSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import java.nio.file.Path;

/** Small constructors for Envoy values the renderers share. */
final class Protos {

  private Protos() {}

  static Duration millis(long ms) {
    return Duration.newBuilder()
        .setSeconds(ms / 1000)
        .setNanos((int) (ms % 1000) * 1_000_000)
        .build();
  }

  static UInt32Value uint32(int unsigned) {
    return UInt32Value.of(unsigned);
  }

  static Address tcpAddress(String host, int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port))
        .build();
  }

  /** A file Envoy watches; it reloads when a new file is renamed onto this path. */
  static ConfigSource fileSource(Path configDir, String relativePath) {
    return ConfigSource.newBuilder()
        .setPathConfigSource(
            PathConfigSource.newBuilder().setPath(configDir.resolve(relativePath).toString()))
        .setResourceApiVersion(ApiVersion.V3)
        .build();
  }
}

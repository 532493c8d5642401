package dev.envoyagent.support;

import dev.envoyagent.config.AgentSettings.ListenAddress;
import dev.envoyagent.config.AgentSettings.TlsFiles;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Opens gRPC channels to the control plane. The PEM files are read anew for every channel, so a
 * rotated certificate is used from the next connection on; {@link #filesStamp()} lets the client
 * notice a rotation and reconnect.
 */
public final class ChannelFactory {

  /** A dead connection must be noticed within seconds, not at the next TCP timeout. */
  static final Duration KEEPALIVE_TIME = Duration.ofSeconds(10);

  static final Duration KEEPALIVE_TIMEOUT = Duration.ofSeconds(5);

  private final Optional<TlsFiles> tls;
  private final Duration connectTimeout;

  public ChannelFactory(Optional<TlsFiles> tls, Duration connectTimeout) {
    this.tls = tls;
    this.connectTimeout = connectTimeout;
  }

  public ManagedChannel open(ListenAddress target) throws IOException {
    return NettyChannelBuilder.forAddress(target.host(), target.port(), credentials())
        .withOption(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis())
        .keepAliveTime(KEEPALIVE_TIME.toSeconds(), TimeUnit.SECONDS)
        .keepAliveTimeout(KEEPALIVE_TIMEOUT.toSeconds(), TimeUnit.SECONDS)
        .keepAliveWithoutCalls(true)
        .build();
  }

  private ChannelCredentials credentials() throws IOException {
    if (tls.isEmpty()) {
      return InsecureChannelCredentials.create();
    }
    TlsFiles files = tls.get();
    TlsChannelCredentials.Builder builder =
        TlsChannelCredentials.newBuilder().trustManager(files.caFile().toFile());
    if (files.certFile().isPresent() && files.keyFile().isPresent()) {
      builder.keyManager(files.certFile().get().toFile(), files.keyFile().get().toFile());
    }
    return builder.build();
  }

  /** Sizes and modification times of the PEM files: a change means they were rotated. */
  public String filesStamp() {
    if (tls.isEmpty()) {
      return "";
    }
    List<Path> files = new ArrayList<>();
    files.add(tls.get().caFile());
    tls.get().certFile().ifPresent(files::add);
    tls.get().keyFile().ifPresent(files::add);
    StringBuilder stamp = new StringBuilder();
    for (Path file : files) {
      try {
        stamp
            .append(Files.size(file))
            .append('@')
            .append(Files.getLastModifiedTime(file).toMillis())
            .append(';');
      } catch (IOException e) {
        stamp.append("absent;");
      }
    }
    return stamp.toString();
  }
}

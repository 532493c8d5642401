package dev.envoyagent.cli;

import dev.envoyagent.controlplane.ControlPlaneServer;
import dev.envoyagent.controlplane.HostPort;
import dev.envoyagent.controlplane.ReloadingTls;
import dev.envoyagent.model.InvalidInputException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "control-plane",
    description = {
      "Runs the reference control plane: serves the routes file as snapshots to agents (new version on every",
      "change), merges the endpoints hosts register through heartbeats, and shows the fleet on an HTTP port.",
      "TLS needs --tls-cert and --tls-key (add --tls-client-ca to require client certificates); plaintext only",
      "with --plaintext."
    })
final class ControlPlaneCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--routes",
      required = true,
      paramLabel = "FILE",
      description = "Routes file (YAML or JSON).")
  Path routes;

  @Option(
      names = "--listen",
      paramLabel = "HOST:PORT",
      defaultValue = "127.0.0.1:18000",
      converter = AddressConverter.class,
      description = "gRPC address for agents (default: ${DEFAULT-VALUE}).")
  InetSocketAddress listen;

  @Option(
      names = "--http",
      paramLabel = "HOST:PORT",
      defaultValue = "127.0.0.1:18001",
      converter = AddressConverter.class,
      description = "HTTP address for GET /fleet (default: ${DEFAULT-VALUE}).")
  InetSocketAddress http;

  @Option(names = "--tls-cert", paramLabel = "PEM", description = "The server's certificate chain.")
  Path tlsCert;

  @Option(
      names = "--tls-key",
      paramLabel = "PEM",
      description = "The server's private key (PKCS#8 or PKCS#1 RSA).")
  Path tlsKey;

  @Option(
      names = "--tls-client-ca",
      paramLabel = "PEM",
      description = "Require client certificates issued by this CA (mutual TLS).")
  Path tlsClientCa;

  @Option(
      names = "--plaintext",
      description = "Serve without TLS; only for tests and trusted networks.")
  boolean plaintext;

  @Option(
      names = "--heartbeat-interval-ms",
      paramLabel = "MS",
      defaultValue = "10000",
      description =
          "Heartbeat interval told to agents; 3 missed ones deregister a host (default: ${DEFAULT-VALUE}).")
  long heartbeatIntervalMs;

  @Override
  public Integer call() throws InterruptedException {
    if (heartbeatIntervalMs < 100 || heartbeatIntervalMs > 3_600_000) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--heartbeat-interval-ms must be 100-3600000");
    }
    ControlPlaneServer.Options options =
        new ControlPlaneServer.Options(routes, listen, http, tls(), heartbeatIntervalMs);
    ControlPlaneServer server;
    try {
      server = ControlPlaneServer.start(options);
    } catch (InvalidInputException e) {
      ValidateCommand.report(spec.commandLine().getErr(), routes, e);
      return ExitCodes.INVALID;
    } catch (IOException | GeneralSecurityException e) {
      spec.commandLine().getErr().println("control-plane: cannot start: " + e.getMessage());
      return ExitCodes.INVALID;
    }
    Thread hook = new Thread(server::close, "control-plane-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    server.awaitTermination();
    return ExitCodes.OK;
  }

  private Optional<ReloadingTls.TlsFiles> tls() {
    CommandLine cli = spec.commandLine();
    boolean anyTls = tlsCert != null || tlsKey != null || tlsClientCa != null;
    if (plaintext && anyTls) {
      throw new CommandLine.ParameterException(cli, "--plaintext and --tls-* exclude each other");
    }
    if (plaintext) {
      return Optional.empty();
    }
    if (tlsCert == null || tlsKey == null) {
      throw new CommandLine.ParameterException(
          cli,
          anyTls
              ? "TLS needs both --tls-cert and --tls-key"
              : "give --tls-cert and --tls-key (and --tls-client-ca for mutual TLS), or --plaintext");
    }
    return Optional.of(
        new ReloadingTls.TlsFiles(tlsCert, tlsKey, Optional.ofNullable(tlsClientCa)));
  }

  /** host:port or [v6]:port. */
  static final class AddressConverter implements CommandLine.ITypeConverter<InetSocketAddress> {
    @Override
    public InetSocketAddress convert(String value) {
      try {
        return HostPort.parse(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }
}

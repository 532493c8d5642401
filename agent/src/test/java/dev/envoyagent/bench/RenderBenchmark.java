package dev.envoyagent.bench;

import dev.envoyagent.api.v1.Endpoint;
import dev.envoyagent.api.v1.HttpRoute;
import dev.envoyagent.api.v1.Protocol;
import dev.envoyagent.api.v1.RouteMatch;
import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.api.v1.RouteTarget;
import dev.envoyagent.api.v1.Service;
import dev.envoyagent.config.AgentSettings.NodeSettings;
import dev.envoyagent.config.Delivery;
import dev.envoyagent.model.InvalidInputException;
import dev.envoyagent.render.EnvoyConfigRenderer;
import dev.envoyagent.render.RenderSettings;
import dev.envoyagent.render.RenderedFiles;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Validate + render + serialise a whole snapshot, as the agent does for every snapshot it gets.
 * Targets: 1,000 services x 10 endpoints within 50 ms, 10,000 x 10 within 1 s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xmx1g", "-XX:+UseSerialGC"})
public class RenderBenchmark {

  @Param({"1000", "10000"})
  int services;

  @Param({"files", "restart"})
  String delivery;

  RouteSnapshot snapshot;
  RenderSettings settings;

  @Setup
  public void setUp() {
    snapshot = snapshot(services, 10);
    settings =
        new RenderSettings(
            new NodeSettings("i-0bench", "bench", "us-east-1a"),
            9901,
            Delivery.fromConfigName(delivery).orElseThrow(),
            Path.of("/var/lib/envoy-agent/envoy"));
  }

  /** A realistic mix: mostly HTTP with a weighted route, some gRPC and TCP, three zones. */
  static RouteSnapshot snapshot(int serviceCount, int endpointsPerService) {
    RouteSnapshot.Builder snapshot = RouteSnapshot.newBuilder().setVersion("bench-1");
    for (int s = 0; s < serviceCount; s++) {
      Protocol protocol = s % 10 == 0 ? Protocol.TCP : s % 10 == 1 ? Protocol.GRPC : Protocol.HTTP;
      Service.Builder service =
          Service.newBuilder()
              .setName("service-" + s)
              .setProtocol(protocol)
              .setLocalPort(20000 + s);
      for (int e = 0; e < endpointsPerService; e++) {
        service.addEndpoints(
            Endpoint.newBuilder()
                .setAddress("10." + (s / 250) % 256 + "." + s % 250 + "." + (e + 1))
                .setPort(8080)
                .setZone("us-east-1" + (char) ('a' + e % 3)));
      }
      if (protocol == Protocol.HTTP && s > 0) {
        int other = s - 1;
        if (snapshotProtocol(other) == Protocol.HTTP) {
          service.addRoutes(
              HttpRoute.newBuilder()
                  .setMatch(RouteMatch.newBuilder().setPrefix("/v2/"))
                  .addTargets(RouteTarget.newBuilder().setService("service-" + other).setWeight(90))
                  .addTargets(RouteTarget.newBuilder().setService("service-" + s).setWeight(10)));
        }
      }
      snapshot.addServices(service);
    }
    return snapshot.build();
  }

  private static Protocol snapshotProtocol(int s) {
    return s % 10 == 0 ? Protocol.TCP : s % 10 == 1 ? Protocol.GRPC : Protocol.HTTP;
  }

  @Benchmark
  public RenderedFiles validateRenderSerialize() throws InvalidInputException {
    return EnvoyConfigRenderer.render(snapshot, settings).toFiles(); // render validates first
  }
}

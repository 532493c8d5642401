package dev.envoyagent.agent;

import dev.envoyagent.ec2.Ec2Metadata;
import dev.envoyagent.ec2.InstanceIdentity;
import dev.envoyagent.metrics.AgentMetrics;
import java.net.URI;
import java.util.Optional;

/**
 * Counts every IMDS read and every failed one ({@code envoy_agent.imds.calls} / {@code .failures}),
 * so a throttled or unreachable IMDS shows in metrics before a termination notice is missed.
 */
final class CountedEc2Metadata implements Ec2Metadata {

  private final Ec2Metadata delegate;
  private final AgentMetrics metrics;

  CountedEc2Metadata(Ec2Metadata delegate, AgentMetrics metrics) {
    this.delegate = delegate;
    this.metrics = metrics;
    metrics.counter("imds", "calls");
    metrics.counter("imds", "failures");
  }

  @Override
  public InstanceIdentity identity() {
    return counted(delegate::identity);
  }

  @Override
  public Optional<String> read(String path) {
    return counted(() -> delegate.read(path));
  }

  @Override
  public URI endpoint() {
    return delegate.endpoint();
  }

  @Override
  public void close() {
    delegate.close();
  }

  private <T> T counted(java.util.function.Supplier<T> call) {
    metrics.counter("imds", "calls").inc();
    try {
      return call.get();
    } catch (RuntimeException e) {
      metrics.counter("imds", "failures").inc();
      throw e;
    }
  }
}

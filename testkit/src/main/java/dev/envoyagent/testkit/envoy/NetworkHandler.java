package dev.envoyagent.testkit.envoy;

import java.io.IOException;

/**
 * The terminal network filter of a listener: serves one downstream connection on its own thread.
 */
interface NetworkHandler extends AutoCloseable {
  void handle(DownstreamConnection connection) throws IOException;

  /** Stops subscriptions the handler owns (RDS); connections already served keep running. */
  @Override
  default void close() {}
}

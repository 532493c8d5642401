package dev.envoyagent.support;

import io.grpc.Status;

/** gRPC failures in words a log line can carry. */
public final class GrpcReason {

  private GrpcReason() {}

  /**
   * A status for one log line. gRPC describes transport failures only as "io exception" or "ssl
   * exception" (Netty adds its channel pipeline on a second line); the cause says what happened
   * (connection refused, a certificate refused, ...), so the description's first line and the
   * innermost cause's message are given, on one line.
   */
  public static String of(Status status) {
    String description =
        status.getDescription() == null ? "" : status.getDescription().strip().split("\n", 2)[0];
    String cause = null;
    for (Throwable t = status.getCause(); t != null && t.getCause() != t; t = t.getCause()) {
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        cause = t.getMessage().strip();
      }
    }
    String reason =
        cause == null || description.contains(cause)
            ? description
            : description.isEmpty() ? cause : description + ": " + cause;
    return reason.replaceAll("\\s+", " ").replace('"', '\'');
  }
}

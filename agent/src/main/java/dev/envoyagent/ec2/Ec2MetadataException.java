package dev.envoyagent.ec2;

import java.net.URI;

/**
 * IMDS could not answer (unreachable, timed out, refused, or an item that must exist is absent).
 */
public class Ec2MetadataException extends RuntimeException {
  private final URI endpoint;

  public Ec2MetadataException(URI endpoint, String message, Throwable cause) {
    super(message, cause);
    this.endpoint = endpoint;
  }

  public URI endpoint() {
    return endpoint;
  }

  /**
   * The innermost cause, as a short phrase for a log line: {@code ConnectException: Connection
   * refused}.
   */
  static String reason(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage();
    return root.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }
}

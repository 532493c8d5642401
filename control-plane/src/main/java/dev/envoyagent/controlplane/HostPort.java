package dev.envoyagent.controlplane;

import java.net.InetSocketAddress;

/**
 * {@code host:port} or {@code [v6]:port} on the command line; never resolved here beyond what
 * binding needs.
 */
public final class HostPort {

  private HostPort() {}

  /** Parses; port 0 means "any free port" (tests). */
  public static InetSocketAddress parse(String value) {
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      throw new IllegalArgumentException("\"" + value + "\" must be host:port or [v6]:port");
    }
    String host = value.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.indexOf(':') >= 0) {
      throw new IllegalArgumentException(
          "\"" + value + "\": an IPv6 address needs brackets, e.g. [::1]:18000");
    }
    int port;
    try {
      port = Integer.parseInt(value.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("\"" + value + "\": port must be a number", e);
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("\"" + value + "\": port must be 0-65535");
    }
    return new InetSocketAddress(host, port);
  }

  /** The form {@link #parse} reads back. */
  public static String format(InetSocketAddress address) {
    String host = address.getHostString();
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
  }
}

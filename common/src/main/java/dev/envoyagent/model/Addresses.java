package dev.envoyagent.model;

import com.google.common.net.InetAddresses;
import java.util.Optional;
import java.util.regex.Pattern;

/** Tells IP literals from DNS names, without ever resolving anything. */
public final class Addresses {

  /** What an endpoint address is; DNS names make a DNS-resolved cluster. */
  public enum Kind { IPV4, IPV6, DNS }

  private static final Pattern DOTTED_NUMBERS = Pattern.compile("[0-9.]+");
  private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
      + "(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");
  private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");
  private static final Pattern ALL_DIGITS = Pattern.compile("[0-9]+");

  private Addresses() {}

  /** The kind of {@code address}, or empty when it is none of them (see {@link #whyInvalid}). */
  public static Optional<Kind> kindOf(String address) {
    return whyInvalid(address).isPresent() ? Optional.empty() : Optional.of(classify(address));
  }

  /** Why {@code address} is not a usable endpoint address, or empty when it is. */
  public static Optional<String> whyInvalid(String address) {
    if (address.isEmpty()) {
      return Optional.of("must not be empty");
    }
    if (address.indexOf(':') >= 0) {
      if (address.startsWith("[") || address.indexOf('%') >= 0) {
        return Optional.of("\"" + address + "\" must be a bare IPv6 address (no brackets, no zone index)");
      }
      return InetAddresses.isInetAddress(address)
          ? Optional.empty()
          : Optional.of("\"" + address + "\" is not a valid IPv6 address");
    }
    if (DOTTED_NUMBERS.matcher(address).matches()) {
      return IPV4.matcher(address).matches()
          ? Optional.empty()
          : Optional.of("\"" + address + "\" is not a valid IPv4 address");
    }
    if (address.length() > 253) {
      return Optional.of("DNS name is longer than 253 characters");
    }
    String[] labels = address.split("\\.", -1);
    for (String label : labels) {
      if (!LABEL.matcher(label).matches()) {
        return Optional.of("\"" + address + "\" is not a valid IP address or DNS name (label \"" + label
            + "\": 1-63 letters, digits or '-', not starting or ending with '-')");
      }
    }
    if (ALL_DIGITS.matcher(labels[labels.length - 1]).matches()) {
      return Optional.of("\"" + address + "\" is not a valid DNS name (its last label is a number)");
    }
    return Optional.empty();
  }

  private static Kind classify(String address) {
    if (address.indexOf(':') >= 0) {
      return Kind.IPV6;
    }
    return IPV4.matcher(address).matches() ? Kind.IPV4 : Kind.DNS;
  }
}

package dev.envoyagent.model;

import com.google.common.net.InetAddresses;
import java.util.Optional;

/**
 * Tells IP literals from DNS names, without ever resolving anything. Runs for every endpoint of
 * every snapshot (100,000 of them in a large fleet), so it scans characters instead of using
 * regular expressions.
 */
public final class Addresses {

  /** What an endpoint address is; DNS names make a DNS-resolved cluster. */
  public enum Kind {
    IPV4,
    IPV6,
    DNS
  }

  private static final int MAX_DNS_NAME = 253;
  private static final int MAX_LABEL = 63;

  private Addresses() {}

  /** The kind of {@code address}, or empty when it is none of them (see {@link #whyInvalid}). */
  public static Optional<Kind> kindOf(String address) {
    if (address.indexOf(':') >= 0) {
      return whyInvalid(address).isEmpty() ? Optional.of(Kind.IPV6) : Optional.empty();
    }
    if (isDottedNumbers(address)) {
      return isIpv4(address) ? Optional.of(Kind.IPV4) : Optional.empty();
    }
    return dnsProblem(address) == null ? Optional.of(Kind.DNS) : Optional.empty();
  }

  /** Why {@code address} is not a usable endpoint address, or empty when it is. */
  public static Optional<String> whyInvalid(String address) {
    if (address.isEmpty()) {
      return Optional.of("must not be empty");
    }
    if (address.indexOf(':') >= 0) {
      if (address.startsWith("[") || address.indexOf('%') >= 0) {
        return Optional.of(
            "\"" + address + "\" must be a bare IPv6 address (no brackets, no zone index)");
      }
      return InetAddresses.isInetAddress(address)
          ? Optional.empty()
          : Optional.of("\"" + address + "\" is not a valid IPv6 address");
    }
    if (isDottedNumbers(address)) {
      return isIpv4(address)
          ? Optional.empty()
          : Optional.of("\"" + address + "\" is not a valid IPv4 address");
    }
    return Optional.ofNullable(dnsProblem(address));
  }

  private static boolean isDottedNumbers(String address) {
    for (int i = 0; i < address.length(); i++) {
      char c = address.charAt(i);
      if (c != '.' && (c < '0' || c > '9')) {
        return false;
      }
    }
    return true;
  }

  /** Four decimal octets 0-255, no leading zeros (which some parsers read as octal). */
  private static boolean isIpv4(String address) {
    int octets = 0;
    int start = 0;
    while (start <= address.length()) {
      int end = address.indexOf('.', start);
      if (end < 0) {
        end = address.length();
      }
      int length = end - start;
      if (length < 1 || length > 3 || (length > 1 && address.charAt(start) == '0')) {
        return false;
      }
      if (Integer.parseInt(address, start, end, 10) > 255) {
        return false;
      }
      octets++;
      start = end + 1;
    }
    return octets == 4;
  }

  /** Why {@code name} is not an RFC 1123 host name, or null when it is one. */
  private static String dnsProblem(String name) {
    if (name.length() > MAX_DNS_NAME) {
      return "DNS name is longer than " + MAX_DNS_NAME + " characters";
    }
    int start = 0;
    boolean lastLabelNumeric = false;
    while (start <= name.length()) {
      int end = name.indexOf('.', start);
      if (end < 0) {
        end = name.length();
      }
      if (!isLabel(name, start, end)) {
        return "\""
            + name
            + "\" is not a valid IP address or DNS name (label \""
            + name.substring(start, end)
            + "\": 1-"
            + MAX_LABEL
            + " letters, digits or '-', not starting or ending with '-')";
      }
      lastLabelNumeric = isDigits(name, start, end);
      start = end + 1;
    }
    return lastLabelNumeric
        ? "\"" + name + "\" is not a valid DNS name (its last label is a number)"
        : null;
  }

  private static boolean isLabel(String name, int start, int end) {
    int length = end - start;
    if (length < 1
        || length > MAX_LABEL
        || name.charAt(start) == '-'
        || name.charAt(end - 1) == '-') {
      return false;
    }
    for (int i = start; i < end; i++) {
      char c = name.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  private static boolean isDigits(String name, int start, int end) {
    for (int i = start; i < end; i++) {
      if (name.charAt(i) < '0' || name.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }
}

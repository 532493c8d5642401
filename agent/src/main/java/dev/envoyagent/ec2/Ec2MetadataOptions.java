package dev.envoyagent.ec2;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * How to reach IMDS. {@code retries} are the SDK's (5xx and I/O errors; 4xx are never retried);
 * {@code probeTimeout} bounds each of connect and read for the {@code auto} probe, which makes one
 * attempt only.
 */
public record Ec2MetadataOptions(
    URI endpoint,
    Duration connectTimeout,
    Duration readTimeout,
    int retries,
    Duration probeTimeout) {

  /** The link-local IMDS address every EC2 instance has (IPv4). */
  public static final URI DEFAULT_ENDPOINT = URI.create("http://169.254.169.254");

  public Ec2MetadataOptions {
    Objects.requireNonNull(endpoint, "endpoint");
    requirePositive(connectTimeout, "connectTimeout");
    requirePositive(readTimeout, "readTimeout");
    requirePositive(probeTimeout, "probeTimeout");
    if (retries < 0 || retries > 5) {
      throw new IllegalArgumentException("retries must be 0-5: " + retries);
    }
  }

  /**
   * 1 s timeouts, 2 retries (a poll costs at most about 3.5 s, under the 5 s poll interval), a 400
   * ms probe.
   */
  public static Ec2MetadataOptions defaults() {
    return new Ec2MetadataOptions(
        DEFAULT_ENDPOINT, Duration.ofSeconds(1), Duration.ofSeconds(1), 2, Duration.ofMillis(400));
  }

  public Ec2MetadataOptions withEndpoint(URI value) {
    return new Ec2MetadataOptions(value, connectTimeout, readTimeout, retries, probeTimeout);
  }

  public Ec2MetadataOptions withTimeouts(Duration connect, Duration read) {
    return new Ec2MetadataOptions(endpoint, connect, read, retries, probeTimeout);
  }

  public Ec2MetadataOptions withRetries(int value) {
    return new Ec2MetadataOptions(endpoint, connectTimeout, readTimeout, value, probeTimeout);
  }

  public Ec2MetadataOptions withProbeTimeout(Duration value) {
    return new Ec2MetadataOptions(endpoint, connectTimeout, readTimeout, retries, value);
  }

  private static void requirePositive(Duration d, String name) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive: " + d);
    }
  }
}

package dev.envoyagent.ec2;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides at start-up whether the agent is on EC2 and, if so, reads its identity (cached in the
 * returned {@link Ec2Metadata}, which the caller owns and closes).
 *
 * <ul>
 *   <li>{@code off}: no IMDS traffic; empty.
 *   <li>{@code auto}: one token PUT + GET with short timeouts ({@link
 *       Ec2MetadataOptions#probeTimeout()} each for connect and read, no retries), so "not on EC2"
 *       is known in about 1 s instead of the SDK's 4 attempts. A failed probe means empty. Once
 *       IMDS has answered, the host <em>is</em> on EC2 and failures to read the identity are
 *       errors: silently running an EC2 host under a configured identity would be worse than a
 *       visible restart.
 *   <li>{@code on}: the normal client with retries; any failure is an {@link
 *       Ec2UnavailableException} naming the endpoint and the reason.
 * </ul>
 */
public final class Ec2Detector {
  private static final Logger log = LoggerFactory.getLogger(Ec2Detector.class);

  private final Ec2MetadataOptions options;
  private final Clock clock;

  public Ec2Detector(Ec2MetadataOptions options, Clock clock) {
    this.options = options;
    this.clock = clock;
  }

  /**
   * @return the metadata edge with its identity already read, or empty when {@code off} or (for
   *     {@code auto}) IMDS did not answer
   * @throws Ec2UnavailableException in mode {@code on} when IMDS cannot be read, or in mode {@code
   *     auto} when IMDS answered the probe but the identity could not be read
   */
  public Optional<Ec2Metadata> open(Ec2Mode mode) {
    if (mode == Ec2Mode.OFF) {
      log.info("ec2 disabled mode=off; using configured identity");
      return Optional.empty();
    }
    Instant start = clock.instant();
    if (mode == Ec2Mode.AUTO) {
      Optional<String> failure = SdkEc2Metadata.probe(options);
      if (failure.isPresent()) {
        log.info(
            "ec2 not detected mode=auto endpoint={} reason=\"{}\" elapsed_ms={}; using configured identity"
                + " (set ec2: on on EC2 fleets to fail instead)",
            options.endpoint(),
            failure.get(),
            elapsedMs(start));
        return Optional.empty();
      }
    }
    SdkEc2Metadata metadata = SdkEc2Metadata.create(options);
    try {
      metadata.identity();
      log.info(
          "ec2 detected mode={} endpoint={} elapsed_ms={}",
          mode,
          options.endpoint(),
          elapsedMs(start));
      return Optional.of(metadata);
    } catch (Ec2MetadataException e) {
      metadata.close();
      throw new Ec2UnavailableException(mode, e);
    }
  }

  private long elapsedMs(Instant start) {
    return Duration.between(start, clock.instant()).toMillis();
  }
}

package dev.envoyagent.testkit.imds;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * IMDSv2 session tokens: issued with a TTL, valid until it passes (by the injected clock),
 * revocable all at once.
 */
final class TokenStore {
  static final int MIN_TTL_SECONDS = 1;
  static final int MAX_TTL_SECONDS = 21_600;

  private final Clock clock;
  private final SecureRandom random = new SecureRandom();
  private final Map<String, Instant> expiries = new ConcurrentHashMap<>();
  private final AtomicInteger issued = new AtomicInteger();

  TokenStore(Clock clock) {
    this.clock = clock;
  }

  String issue(int ttlSeconds) {
    byte[] bytes = new byte[42];
    random.nextBytes(bytes);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    expiries.put(token, clock.instant().plusSeconds(ttlSeconds));
    issued.incrementAndGet();
    return token;
  }

  boolean isValid(String token) {
    if (token == null) {
      return false;
    }
    Instant expiry = expiries.get(token);
    return expiry != null && clock.instant().isBefore(expiry);
  }

  /**
   * Forget every token, as after an IMDS-side reset: clients must PUT a new one
   * (aws/aws-sdk-java-v2#5764).
   */
  void invalidateAll() {
    expiries.clear();
  }

  int issued() {
    return issued.get();
  }
}

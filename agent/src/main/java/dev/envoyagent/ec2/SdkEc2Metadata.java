package dev.envoyagent.ec2;

import java.net.HttpURLConnection;
import java.net.Proxy;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.imds.Ec2MetadataClient;
import software.amazon.awssdk.imds.Ec2MetadataClientException;
import software.amazon.awssdk.imds.Ec2MetadataRetryPolicy;

/**
 * {@link Ec2Metadata} on the SDK's sync {@link Ec2MetadataClient} (IMDSv2 only, token cached by the
 * SDK).
 *
 * <p>Works around aws/aws-sdk-java-v2#5764: once a request gets 401 (token revoked or expired
 * early) the SDK keeps its stale token and every later call fails. On a 401 this class closes the
 * client, builds a fresh one (which PUTs a new token) and retries that request once.
 */
public final class SdkEc2Metadata implements Ec2Metadata {
  static final String META = "/latest/meta-data/";
  static final String DOCUMENT = "/latest/dynamic/instance-identity/document";
  static final String RSA2048 = "/latest/dynamic/instance-identity/rsa2048";
  private static final Logger log = LoggerFactory.getLogger(SdkEc2Metadata.class);

  private final Ec2MetadataOptions options;
  private final Object clientLock = new Object();
  private final Object identityLock = new Object();
  private final AtomicInteger rebuilds = new AtomicInteger();
  private Client client;
  private volatile InstanceIdentity identity;
  private boolean closed;

  /** The SDK client and the HTTP client it borrows (the SDK never closes a client it was given). */
  record Client(Ec2MetadataClient imds, SdkHttpClient http) {
    void close() {
      imds.close();
      http.close();
    }
  }

  private SdkEc2Metadata(Ec2MetadataOptions options) {
    this.options = options;
    this.client = build(options, options.retries());
  }

  public static SdkEc2Metadata create(Ec2MetadataOptions options) {
    return new SdkEc2Metadata(options);
  }

  @Override
  public URI endpoint() {
    return options.endpoint();
  }

  /** How many times the client was rebuilt after a 401. */
  public int clientRebuilds() {
    return rebuilds.get();
  }

  @Override
  public InstanceIdentity identity() {
    InstanceIdentity known = identity;
    if (known != null) {
      return known;
    }
    synchronized (identityLock) {
      if (identity == null) {
        identity = fetchIdentity();
        log.info(
            "ec2 identity read instance_id={} region={} zone={} zone_id={} private_ip={} type={} ami={} tags={}",
            identity.instanceId(),
            identity.region(),
            identity.availabilityZone(),
            identity.availabilityZoneId(),
            identity.privateIpv4(),
            identity.instanceType(),
            identity.amiId(),
            identity.tags().size());
      }
      return identity;
    }
  }

  @Override
  public Optional<String> read(String path) {
    Client used = current();
    try {
      return get(used, path);
    } catch (Ec2MetadataClientException e) {
      if (e.statusCode() != 401) {
        throw failure(path, "HTTP " + e.statusCode(), e);
      }
      log.warn(
          "imds token rejected path={} status=401 action=rebuild_client_and_retry_once"
              + " (aws-sdk-java-v2#5764: the SDK would keep its stale token)",
          path);
      Client fresh = rebuild(used);
      try {
        return get(fresh, path);
      } catch (Ec2MetadataClientException again) {
        throw failure(path, "HTTP " + again.statusCode() + " after a fresh token", again);
      } catch (SdkClientException again) {
        throw failure(path, Ec2MetadataException.reason(again), again);
      }
    } catch (SdkClientException e) {
      throw failure(path, Ec2MetadataException.reason(e), e);
    }
  }

  @Override
  public void close() {
    synchronized (clientLock) {
      if (!closed) {
        closed = true;
        client.close();
      }
    }
  }

  /** A 404 is an answer ("absent"), not a failure. */
  private static Optional<String> get(Client c, String path) {
    try {
      return Optional.of(c.imds().get(path).asString());
    } catch (Ec2MetadataClientException e) {
      if (e.statusCode() == 404) {
        return Optional.empty();
      }
      throw e;
    }
  }

  private InstanceIdentity fetchIdentity() {
    return new InstanceIdentity(
        required(META + "instance-id"),
        required(META + "placement/region"),
        required(META + "placement/availability-zone"),
        required(META + "placement/availability-zone-id"),
        required(META + "local-ipv4"),
        required(META + "instance-type"),
        required(META + "ami-id"),
        tags(),
        required(DOCUMENT),
        required(RSA2048));
  }

  /**
   * Tags are only in metadata when the instance enables it; otherwise {@code tags/instance} is 404.
   */
  private Map<String, String> tags() {
    Optional<String> keys = read(META + "tags/instance");
    Map<String, String> tags = new LinkedHashMap<>();
    if (keys.isEmpty()) {
      log.debug("ec2 instance tags not exposed in metadata");
      return tags;
    }
    for (String key : keys.get().split("\n")) {
      if (!key.isBlank()) {
        read(META + "tags/instance/" + key).ifPresent(v -> tags.put(key, v));
      }
    }
    return tags;
  }

  private String required(String path) {
    return read(path).orElseThrow(() -> failure(path, "HTTP 404 (absent)", null));
  }

  private Ec2MetadataException failure(String path, String reason, Throwable cause) {
    return new Ec2MetadataException(
        options.endpoint(),
        "IMDS at " + options.endpoint() + " could not answer " + path + ": " + reason,
        cause);
  }

  private Client current() {
    synchronized (clientLock) {
      if (closed) {
        throw new IllegalStateException("ec2 metadata client is closed");
      }
      return client;
    }
  }

  private Client rebuild(Client stale) {
    synchronized (clientLock) {
      if (closed) {
        throw new IllegalStateException("ec2 metadata client is closed");
      }
      // Another thread may have rebuilt it already; then its fresh client (and token) serves us
      // too.
      if (client == stale) {
        stale.close();
        client = build(options, options.retries());
        rebuilds.incrementAndGet();
      }
      return client;
    }
  }

  /**
   * An SDK client on an HTTP client with explicit timeouts and no proxy: IMDS is link-local, and a
   * proxy picked up from http.proxyHost would add X-Forwarded-For, which IMDS refuses.
   */
  static Client build(Ec2MetadataOptions o, int retries) {
    int connectMs = Math.toIntExact(o.connectTimeout().toMillis());
    int readMs = Math.toIntExact(o.readTimeout().toMillis());
    SdkHttpClient http =
        UrlConnectionHttpClient.create(
            uri -> {
              try {
                HttpURLConnection c =
                    (HttpURLConnection) uri.toURL().openConnection(Proxy.NO_PROXY);
                c.setConnectTimeout(connectMs);
                c.setReadTimeout(readMs);
                return c;
              } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });
    Ec2MetadataClient imds =
        Ec2MetadataClient.builder()
            .endpoint(o.endpoint())
            .httpClient(http)
            .retryPolicy(
                retries == 0
                    ? Ec2MetadataRetryPolicy.none()
                    : Ec2MetadataRetryPolicy.builder().numRetries(retries).build())
            .build();
    return new Client(imds, http);
  }

  /** One attempt with the probe timeouts; used by {@link Ec2Detector} for {@code ec2: auto}. */
  static Optional<String> probe(Ec2MetadataOptions o) {
    Ec2MetadataOptions quick = o.withTimeouts(o.probeTimeout(), o.probeTimeout());
    Client c = build(quick, 0);
    try {
      c.imds().get(META + "instance-id");
      return Optional.empty();
    } catch (Ec2MetadataClientException e) {
      return Optional.of("HTTP " + e.statusCode());
    } catch (SdkClientException | java.io.UncheckedIOException e) {
      return Optional.of(Ec2MetadataException.reason(e));
    } finally {
      c.close();
    }
  }
}

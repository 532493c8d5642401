package dev.envoyagent.testkit.imds;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An IMDSv2 emulator on 127.0.0.1 for tests and the end-to-end demo (see docs/ec2.md): the token
 * protocol with TTLs, 401 for missing/unknown/expired tokens, the metadata paths the agent reads, a
 * signed identity document, and a scripting API for notices and faults. It never answers IMDSv1
 * (token-less) requests.
 *
 * <p>Use: {@code try (ImdsEmulator imds = ImdsEmulator.builder().start()) { … imds.endpoint() … }}.
 * The same scripting is reachable over HTTP under {@code /_emulator/} (see {@link ControlApi}) when
 * it runs as a process.
 */
public final class ImdsEmulator implements AutoCloseable {
  static final String TOKEN_PATH = "/latest/api/token";
  static final String TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds";
  static final String TOKEN_HEADER = "X-aws-ec2-metadata-token";
  private static final int MAX_RECORDED = 10_000;
  private static final String UNAUTHORIZED_BODY =
      "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n"
          + "<html><head><title>401 - Unauthorized</title></head><body><h1>401 - Unauthorized</h1></body></html>\n";

  /** One request as the emulator answered it. */
  public record RecordedRequest(String method, String path, int status) {}

  private final HttpServer server;
  private final ExecutorService executor;
  private final Clock clock;
  private final InstanceProfile profile;
  private final IdentitySigner signer;
  private final TokenStore tokens;
  private final SortedMap<String, String> staticLeaves;
  private final Map<String, String> scripted = new ConcurrentSkipListMap<>();
  private final List<RecordedRequest> recorded = new ArrayList<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Object lock = new Object();
  private boolean tagsEnabled;
  private boolean unauthorizedWithBody = true;
  private Fault fault;
  private int faultRemaining;
  private Duration delay = Duration.ZERO;
  private int delayRemaining;

  private ImdsEmulator(Builder b) throws IOException {
    this.clock = b.clock;
    this.profile = b.profile;
    this.signer = IdentitySigner.shared();
    this.tokens = new TokenStore(clock);
    this.tagsEnabled = b.tagsEnabled;
    String document =
        MetadataTree.identityDocument(profile, clock.instant().truncatedTo(ChronoUnit.SECONDS));
    this.staticLeaves =
        MetadataTree.staticLeaves(
            profile, document, signer.sign(document.getBytes(StandardCharsets.UTF_8)));
    this.server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), b.port), 64);
    // Several threads: injected delays block a handler, and a stalled request must not stall the
    // next one.
    this.executor =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "imds-emulator");
              t.setDaemon(true);
              return t;
            });
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.createContext(ControlApi.PREFIX, new ControlApi(this));
    server.start();
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * {@code http://127.0.0.1:<port>}: what the agent's {@code endpoint(URI)} or
   * AWS_EC2_METADATA_SERVICE_ENDPOINT takes.
   */
  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + port());
  }

  public int port() {
    return server.getAddress().getPort();
  }

  public InstanceProfile profile() {
    return profile;
  }

  /** The identity document exactly as served. */
  public String identityDocument() {
    return staticLeaves.get(MetadataTree.DOCUMENT);
  }

  Instant now() {
    return clock.instant();
  }

  /** The certificate that verifies {@code rsa2048}. */
  public IdentitySigner signer() {
    return signer;
  }

  // ---- scripting
  // -------------------------------------------------------------------------------------------

  /** Marks the spot instance for interruption two minutes from now, as EC2 does. */
  public void spotInterruption(String action) {
    spotInterruption(
        action, clock.instant().plus(Duration.ofMinutes(2)).truncatedTo(ChronoUnit.SECONDS));
  }

  /**
   * {@code spot/instance-action} → {@code {"action":"<action>","time":"<time>"}} ({@code
   * terminate|stop|hibernate}).
   */
  public void spotInterruption(String action, Instant time) {
    scripted.put(MetadataTree.SPOT, "{\"action\":\"" + action + "\",\"time\":\"" + time + "\"}");
  }

  public void clearSpotInterruption() {
    scripted.remove(MetadataTree.SPOT);
  }

  /**
   * {@code autoscaling/target-lifecycle-state} (e.g. InService, Terminated); null → 404 (not in an
   * Auto Scaling group).
   */
  public void lifecycleState(String state) {
    putOrRemove(MetadataTree.LIFECYCLE, state);
  }

  /**
   * {@code events/maintenance/scheduled} as given (a JSON array, possibly {@code []}); null → 404.
   */
  public void maintenanceEvents(String jsonArray) {
    putOrRemove(MetadataTree.MAINTENANCE, jsonArray);
  }

  /** {@code events/recommendations/rebalance} → {@code {"noticeTime":"…"}}; null → 404. */
  public void rebalanceRecommendation(Instant noticeTime) {
    putOrRemove(
        MetadataTree.REBALANCE,
        noticeTime == null ? null : "{\"noticeTime\":\"" + noticeTime + "\"}");
  }

  /** Instance tags in metadata on (the instance enables them) or off (404 under {@code tags/}). */
  public void tagsEnabled(boolean enabled) {
    synchronized (lock) {
      tagsEnabled = enabled;
    }
  }

  /**
   * Whether 401 answers carry IMDS's short HTML body or nothing (the SDK's async client differs on
   * the two).
   */
  public void unauthorizedWithBody(boolean withBody) {
    synchronized (lock) {
      unauthorizedWithBody = withBody;
    }
  }

  /**
   * Answers the next {@code count} matching requests with the fault ({@code Integer.MAX_VALUE}:
   * until cleared).
   */
  public void injectFault(Fault newFault, int count) {
    synchronized (lock) {
      fault = Objects.requireNonNull(newFault, "fault");
      faultRemaining = count;
    }
  }

  public void clearFault() {
    synchronized (lock) {
      fault = null;
      faultRemaining = 0;
    }
  }

  /**
   * Holds each of the next {@code count} responses for {@code duration} ({@code Integer.MAX_VALUE}:
   * until cleared).
   */
  public void delayResponses(Duration duration, int count) {
    synchronized (lock) {
      delay = Objects.requireNonNull(duration, "duration");
      delayRemaining = count;
    }
  }

  public void clearDelay() {
    delayResponses(Duration.ZERO, 0);
  }

  /**
   * Forgets every issued token, so the next data request with an old token gets 401
   * (aws/aws-sdk-java-v2#5764).
   */
  public void invalidateAllTokens() {
    tokens.invalidateAll();
  }

  // ---- observation
  // -----------------------------------------------------------------------------------------

  public int tokensIssued() {
    return tokens.issued();
  }

  public List<RecordedRequest> requests() {
    synchronized (recorded) {
      return List.copyOf(recorded);
    }
  }

  /** How many requests for {@code path} (any method) were answered with {@code status}. */
  public long count(String path, int status) {
    return requests().stream().filter(r -> r.path().equals(path) && r.status() == status).count();
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      server.stop(0);
      executor.shutdownNow();
    }
  }

  // ---- serving
  // ---------------------------------------------------------------------------------------------

  private void handle(HttpExchange ex) throws IOException {
    String path = ex.getRequestURI().getPath();
    int status;
    try {
      holdIfDelayed();
      status = answer(ex, path);
    } catch (IOException e) {
      // The client gave up (its timeout was shorter than an injected delay): nothing to answer.
      status = -1;
    } finally {
      ex.close();
    }
    synchronized (recorded) {
      if (recorded.size() < MAX_RECORDED) {
        recorded.add(new RecordedRequest(ex.getRequestMethod(), path, status));
      }
    }
  }

  private int answer(HttpExchange ex, String path) throws IOException {
    Fault current = takeFault(path);
    if (current != null) {
      return send(
          ex,
          current.status(),
          current.withBody() ? "injected fault " + current.status() + "\n" : "");
    }
    if (TOKEN_PATH.equals(path)) {
      return token(ex);
    }
    if (!"GET".equals(ex.getRequestMethod())) {
      return send(ex, 405, "");
    }
    if (!tokens.isValid(ex.getRequestHeaders().getFirst(TOKEN_HEADER))) {
      boolean body;
      synchronized (lock) {
        body = unauthorizedWithBody;
      }
      if (body) {
        ex.getResponseHeaders().set("Content-Type", "text/html");
      }
      return send(ex, 401, body ? UNAUTHORIZED_BODY : "");
    }
    Optional<String> value = MetadataTree.lookup(leaves(), path);
    return value.isPresent() ? send(ex, 200, value.get()) : send(ex, 404, "");
  }

  private int token(HttpExchange ex) throws IOException {
    if (!"PUT".equals(ex.getRequestMethod())) {
      return send(ex, 405, "");
    }
    // IMDS refuses token requests that went through a proxy (an SSRF defence).
    if (ex.getRequestHeaders().containsKey("X-Forwarded-For")) {
      return send(ex, 403, "");
    }
    String ttlText = ex.getRequestHeaders().getFirst(TTL_HEADER);
    int ttl;
    try {
      ttl = Integer.parseInt(ttlText == null ? "" : ttlText.trim());
    } catch (NumberFormatException e) {
      return send(ex, 400, "");
    }
    if (ttl < TokenStore.MIN_TTL_SECONDS || ttl > TokenStore.MAX_TTL_SECONDS) {
      return send(ex, 400, "");
    }
    ex.getResponseHeaders().set(TTL_HEADER, Integer.toString(ttl));
    return send(ex, 200, tokens.issue(ttl));
  }

  private SortedMap<String, String> leaves() {
    SortedMap<String, String> all = new TreeMap<>(staticLeaves);
    all.putAll(scripted);
    boolean tags;
    synchronized (lock) {
      tags = tagsEnabled;
    }
    if (tags) {
      all.putAll(MetadataTree.tagLeaves(profile.tags()));
    }
    return all;
  }

  private Fault takeFault(String path) {
    synchronized (lock) {
      if (fault == null || faultRemaining <= 0 || !fault.matches(path)) {
        return null;
      }
      if (faultRemaining != Integer.MAX_VALUE) {
        faultRemaining--;
      }
      return fault;
    }
  }

  private void holdIfDelayed() {
    Duration hold;
    synchronized (lock) {
      if (delayRemaining <= 0 || delay.isZero()) {
        return;
      }
      if (delayRemaining != Integer.MAX_VALUE) {
        delayRemaining--;
      }
      hold = delay;
    }
    try {
      Thread.sleep(hold.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void putOrRemove(String path, String value) {
    if (value == null) {
      scripted.remove(path);
    } else {
      scripted.put(path, value);
    }
  }

  static int send(HttpExchange ex, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    if (!ex.getResponseHeaders().containsKey("Content-Type")) {
      ex.getResponseHeaders().set("Content-Type", "text/plain");
    }
    ex.getResponseHeaders().set("Server", "EC2ws");
    ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      ex.getResponseBody().write(bytes);
    }
    return status;
  }

  /**
   * Options; {@link #start()} binds 127.0.0.1 and generates (once per JVM) the signing certificate.
   */
  public static final class Builder {
    private int port;
    private Clock clock = Clock.systemUTC();
    private InstanceProfile profile = InstanceProfile.defaults();
    private boolean tagsEnabled = true;

    private Builder() {}

    /** 0 (the default) picks a free port. */
    public Builder port(int value) {
      this.port = value;
      return this;
    }

    /** Token expiry and notice times follow this clock. */
    public Builder clock(Clock value) {
      this.clock = Objects.requireNonNull(value);
      return this;
    }

    public Builder profile(InstanceProfile value) {
      this.profile = Objects.requireNonNull(value);
      return this;
    }

    public Builder tagsEnabled(boolean value) {
      this.tagsEnabled = value;
      return this;
    }

    public ImdsEmulator start() {
      try {
        return new ImdsEmulator(this);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot bind the IMDS emulator on 127.0.0.1:" + port, e);
      }
    }
  }
}

package dev.envoyagent.agent;

import dev.envoyagent.api.v1.EnvoyEpoch;
import dev.envoyagent.api.v1.HeartbeatRequest;
import dev.envoyagent.api.v1.HeartbeatResponse;
import dev.envoyagent.api.v1.HostState;
import dev.envoyagent.api.v1.Node;
import dev.envoyagent.api.v1.UpstreamHealth;
import dev.envoyagent.config.AgentSettings;
import dev.envoyagent.ec2.InstanceIdentity;
import dev.envoyagent.envoy.EnvoyAdmin;
import dev.envoyagent.envoy.EnvoyProcess;
import dev.envoyagent.health.HeartbeatSender;
import dev.envoyagent.health.LocalChecks;
import dev.envoyagent.support.ChannelFactory;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the control plane how this host is: the local service checks, and the heartbeats that carry
 * them with the agent's and Envoy's state. A host asked to drain says DRAINING from then on, so the
 * control plane deregisters its services.
 */
final class HostHealth implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(HostHealth.class);

  private final StatusBoard status;
  private final EnvoyAdmin admin;
  private final ScheduledExecutorService executor;
  private final AtomicBoolean draining = new AtomicBoolean();
  // Replaced together by a reload; read by gauges, /status and heartbeats from other threads.
  private volatile AgentSettings settings;
  private volatile LocalChecks checks;
  private volatile HeartbeatSender heartbeats;
  private boolean started;
  private final Optional<dev.envoyagent.api.v1.InstanceIdentity> instance;

  HostHealth(
      AgentSettings settings,
      StatusBoard status,
      EnvoyAdmin admin,
      ScheduledExecutorService executor,
      Optional<InstanceIdentity> identity) {
    this.settings = settings;
    this.instance = identity.map(HostHealth::toProto);
    this.status = status;
    this.admin = admin;
    this.executor = executor;
    this.checks = new LocalChecks(settings.localServices(), executor);
    this.heartbeats = heartbeatsFor(settings);
    var metrics = status.metrics();
    metrics.gauge("heartbeat", "sent", () -> this.heartbeats == null ? 0 : this.heartbeats.sent());
    metrics.gauge(
        "heartbeat", "failures", () -> this.heartbeats == null ? 0 : this.heartbeats.failed());
    registerCheckGauges(settings);
    metrics.gauge("host", "draining", () -> draining.get() ? 1 : 0);
  }

  /**
   * Heartbeats on a thread of their own: a beat asked for while draining never runs beside a
   * scheduled one, and a slow control plane never delays the local checks.
   */
  private HeartbeatSender heartbeatsFor(AgentSettings next) {
    return next.controlPlane()
        .map(
            cp -> {
              var thread =
                  new java.util.concurrent.ScheduledThreadPoolExecutor(
                      1,
                      runnable -> {
                        Thread t = new Thread(runnable, "heartbeat");
                        t.setDaemon(true);
                        return t;
                      });
              thread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
              return new HeartbeatSender(
                  cp.addresses(),
                  new ChannelFactory(cp.tls(), Duration.ofMillis(cp.connectTimeoutMs())),
                  Duration.ofMillis(next.heartbeat().intervalMs()),
                  Duration.ofMillis(next.heartbeat().timeoutMs()),
                  this::heartbeat,
                  this::answered,
                  thread,
                  new SecureRandom(),
                  ms ->
                      status
                          .metrics()
                          .timer("heartbeat", "latency")
                          .update(ms, java.util.concurrent.TimeUnit.MILLISECONDS));
            })
        .orElse(null);
  }

  private void registerCheckGauges(AgentSettings next) {
    for (var service : next.localServices()) {
      status
          .metrics()
          .gauge(
              "local_check",
              service.name() + ".healthy",
              () ->
                  checks.statuses().stream()
                          .filter(s -> s.getName().equals(service.name()))
                          .anyMatch(s -> s.getHealthy())
                      ? 1
                      : 0);
    }
  }

  /**
   * Takes new settings (SIGHUP): when the node, the local services, the control plane or the
   * heartbeat settings changed, the checks and heartbeats start again with them; a draining host
   * stays draining. Returns what was restarted, for the log.
   */
  synchronized String reload(AgentSettings next) {
    AgentSettings before = settings;
    boolean checksChanged = !next.localServices().equals(before.localServices());
    boolean heartbeatsChanged =
        !next.controlPlane().equals(before.controlPlane())
            || !next.heartbeat().equals(before.heartbeat())
            || !next.node().equals(before.node());
    settings = next;
    List<String> restarted = new ArrayList<>();
    if (checksChanged) {
      LocalChecks old = checks;
      checks = new LocalChecks(next.localServices(), executor);
      registerCheckGauges(next);
      if (started) {
        checks.start();
      }
      old.close();
      restarted.add("local checks");
    }
    if (heartbeatsChanged || checksChanged) {
      HeartbeatSender old = heartbeats;
      heartbeats = heartbeatsFor(next);
      if (old != null) {
        old.close();
      }
      if (started && heartbeats != null) {
        heartbeats.start();
      }
      restarted.add(heartbeats == null ? "heartbeats (stopped: no control plane)" : "heartbeats");
    }
    return restarted.isEmpty() ? "nothing to restart" : String.join(", ", restarted);
  }

  /** What {@code GET /status} adds about reporting: local checks, control plane, node, draining. */
  Map<String, Object> extras() {
    Map<String, Object> extras = new java.util.LinkedHashMap<>();
    AgentSettings settings = this.settings;
    HeartbeatSender beats = heartbeats;
    var node = settings.node();
    extras.put(
        "node",
        Map.of(
            "id",
            node.id(),
            "cluster",
            node.cluster(),
            "zone",
            node.zone(),
            "address",
            node.address()));
    extras.put("draining", draining.get());
    extras.put(
        "instance",
        instance
            .map(
                i ->
                    (Object)
                        Map.of(
                            "instance_id",
                            i.getInstanceId(),
                            "availability_zone",
                            i.getAvailabilityZone(),
                            "private_ipv4",
                            i.getPrivateIpv4(),
                            "instance_type",
                            i.getInstanceType(),
                            "tags",
                            i.getTagsMap()))
            .orElse("not on EC2"));
    extras.put(
        "local_services",
        checks.statuses().stream()
            .map(
                s ->
                    Map.of(
                        "name",
                        s.getName(),
                        "port",
                        s.getPort(),
                        "healthy",
                        s.getHealthy(),
                        "detail",
                        s.getDetail()))
            .toList());
    extras.put(
        "control_plane",
        settings
            .controlPlane()
            .map(
                cp ->
                    (Object)
                        Map.of(
                            "addresses",
                            cp.addresses().stream().map(Object::toString).toList(),
                            "tls",
                            cp.tls().isPresent(),
                            "heartbeats_sent",
                            beats == null ? 0 : beats.sent(),
                            "heartbeats_failed",
                            beats == null ? 0 : beats.failed()))
            .orElse("none"));
    return extras;
  }

  synchronized void start() {
    started = true;
    checks.start();
    if (heartbeats != null) {
      heartbeats.start();
    }
  }

  /**
   * The host is leaving (a termination notice, an operator, the control plane): from now on it
   * reports DRAINING, so the control plane deregisters its services at once; Envoy fails its health
   * checks and drains its listeners gracefully, so in-flight requests finish within the drain time.
   */
  void drain(String why) {
    if (markDraining(why)) {
      tryPost("/healthcheck/fail");
      tryPost("/drain_listeners?graceful");
    }
  }

  /** Only reports DRAINING (the supervisor drains Envoy itself when the agent stops it). */
  boolean markDraining(String why) {
    if (!draining.compareAndSet(false, true)) {
      return false;
    }
    LOG.warn("host draining reason=\"{}\"", why);
    status.error("draining: " + why);
    HeartbeatSender current = heartbeats;
    if (current != null) {
      current.beatNow();
    }
    return true;
  }

  private void tryPost(String path) {
    try {
      if (!admin.post(path)) {
        LOG.warn("Envoy admin refused POST {} while draining", path);
      }
    } catch (IOException e) {
      LOG.warn("Envoy admin unreachable for POST {} while draining reason={}", path, e.toString());
    }
  }

  private void answered(HeartbeatResponse response) {
    if (response.getDrain()) {
      drain("the control plane asked for it");
    }
  }

  private static dev.envoyagent.api.v1.InstanceIdentity toProto(InstanceIdentity identity) {
    return dev.envoyagent.api.v1.InstanceIdentity.newBuilder()
        .setInstanceId(identity.instanceId())
        .setRegion(identity.region())
        .setAvailabilityZone(identity.availabilityZone())
        .setAvailabilityZoneId(identity.availabilityZoneId())
        .setPrivateIpv4(identity.privateIpv4())
        .setInstanceType(identity.instanceType())
        .setAmiId(identity.amiId())
        .putAllTags(identity.tags())
        .setIdentityDocument(identity.identityDocument())
        .setIdentitySignature(identity.identitySignature())
        .build();
  }

  HeartbeatRequest heartbeat() {
    AgentStatus now = status.snapshot();
    var node = settings.node();
    HeartbeatRequest.Builder beat =
        HeartbeatRequest.newBuilder()
            .setNode(
                Node.newBuilder()
                    .setId(node.id())
                    .setCluster(node.cluster())
                    .setZone(node.zone())
                    .setAddress(node.address()))
            .setAgentVersion(AgentVersion.version())
            .setAppliedVersion(now.appliedVersion())
            .setLastError(now.lastError())
            .addAllLocalServices(checks.statuses());
    instance.ifPresent(beat::setIdentity);
    long nowMs = System.currentTimeMillis();
    for (EnvoyProcess process : now.epochs()) {
      beat.addEpochs(
          EnvoyEpoch.newBuilder()
              .setEpoch(process.epoch())
              .setPid((int) process.pid())
              .setUptimeS(Math.max(0, (nowMs - process.launchedAtMs()) / 1000)));
    }
    String envoyState = "";
    if (!now.epochs().isEmpty()) {
      try {
        EnvoyAdmin.ServerInfo info = admin.serverInfo();
        envoyState = info.state();
        beat.setEnvoyVersion(info.version()).setEnvoyState(envoyState);
        for (Map.Entry<String, EnvoyAdmin.UpstreamCount> upstream :
            admin.upstreamHealth().entrySet()) {
          beat.addUpstreams(
              UpstreamHealth.newBuilder()
                  .setService(upstream.getKey())
                  .setHealthy(upstream.getValue().healthy())
                  .setTotal(upstream.getValue().total()));
        }
      } catch (IOException e) {
        envoyState = "UNREACHABLE";
        beat.setEnvoyState(envoyState);
      }
    }
    beat.setState(
        draining.get()
            ? HostState.DRAINING
            : now.epochs().isEmpty()
                ? HostState.DOWN
                : "LIVE".equals(envoyState) ? HostState.SERVING : HostState.STARTING);
    return beat.build();
  }

  @Override
  public synchronized void close() {
    checks.close();
    if (heartbeats != null) {
      heartbeats.close();
    }
  }
}

package dev.envoyagent.agent;

import dev.envoyagent.api.v1.Node;
import dev.envoyagent.api.v1.RouteResponse;
import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.apply.VersionHistory;
import dev.envoyagent.config.AgentSettings;
import dev.envoyagent.model.Problem;
import dev.envoyagent.model.SnapshotValidator;
import dev.envoyagent.routesfile.FileChangeHint;
import dev.envoyagent.routesfile.RoutesFileSource;
import dev.envoyagent.source.ControlPlaneClient;
import dev.envoyagent.support.Backoff;
import dev.envoyagent.support.ChannelFactory;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the supervisor's snapshots come from: first the last applied one (so Envoy serves at once,
 * even with the control plane down), then the control plane's stream and/or the routes file,
 * merged. Answers each control-plane snapshot with an ACK once it is applied or a NACK with the
 * reasons it was refused. Runs on one thread ({@code feed}).
 */
final class RouteFeed implements StatusBoard.Listener {

  private static final Logger LOG = LoggerFactory.getLogger(RouteFeed.class);
  static final Duration ROUTES_POLL = Duration.ofSeconds(1);
  static final Duration KNOWN_GOOD_WAIT = Duration.ofSeconds(2);
  static final Backoff RECONNECT = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30), 0.3);

  private final ScheduledExecutorService feed;
  private final Supervisor supervisor;
  private final StatusBoard status;

  private AgentSettings settings;
  private RoutesFileSource file;
  private ScheduledFuture<?> filePoll;
  private FileChangeHint fileHint;
  private ControlPlaneClient controlPlane;
  private RouteSnapshot fromFile;
  private RouteResponse fromControlPlane;
  private String pendingVersion = "";

  RouteFeed(
      AgentSettings settings,
      ScheduledExecutorService feed,
      Supervisor supervisor,
      StatusBoard status) {
    this.settings = settings;
    this.feed = feed;
    this.supervisor = supervisor;
    this.status = status;
    status.addListener(this);
  }

  /**
   * Hands the last applied snapshot to the supervisor, then starts the sources. Where there is one,
   * waits (at most {@link #KNOWN_GOOD_WAIT}) until the supervisor has acted on it: the
   * control-plane client and the other sources load a lot of code, and on a small host that work
   * would slow down starting Envoy from the last known good after a reboot.
   */
  void start() throws IOException {
    Optional<RouteSnapshot> last =
        new VersionHistory(settings.historyDir(), settings.historyKeep()).latest();
    if (last.isPresent()) {
      LOG.info("starting from the last applied routes version={}", last.get().getVersion());
      try {
        supervisor
            .submitKnownGood(last.get())
            .get(KNOWN_GOOD_WAIT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        LOG.info(
            "the supervisor is still acting on the last applied routes after {} ms; starting the sources",
            KNOWN_GOOD_WAIT.toMillis());
      } catch (ExecutionException e) {
        throw new IllegalStateException(
            "the supervisor failed on the last applied routes", e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    feed.execute(this::startSources);
  }

  /** SIGHUP: new settings; re-read the routes file and reconnect if the control plane changed. */
  void reload(AgentSettings next) {
    feed.execute(
        () -> {
          boolean controlPlaneChanged = !next.controlPlane().equals(settings.controlPlane());
          settings = next;
          stopFileSource();
          if (controlPlaneChanged) {
            stopControlPlane();
            fromControlPlane = null;
          }
          fromFile = null;
          startFileSource(); // reads the file and submits when it is good
          if (controlPlaneChanged) {
            startControlPlane();
          }
          if (file == null) {
            submitMerged(); // no routes file (any more): what the control plane sent, alone
          }
        });
  }

  void stop() {
    feed.execute(
        () -> {
          stopFileSource();
          stopControlPlane();
        });
  }

  private void startSources() {
    startFileSource();
    startControlPlane();
  }

  private void startFileSource() {
    settings
        .routesFile()
        .ifPresent(
            path -> {
              file =
                  new RoutesFileSource(
                      path,
                      snapshot -> {
                        fromFile = snapshot;
                        submitMerged();
                      },
                      status::sourceRefused);
              file.poll();
              filePoll =
                  feed.scheduleWithFixedDelay(
                      file::poll,
                      ROUTES_POLL.toMillis(),
                      ROUTES_POLL.toMillis(),
                      TimeUnit.MILLISECONDS);
              RoutesFileSource current = file;
              // An edit is read at once when inotify reports it; the poll stays the source of
              // truth.
              fileHint = FileChangeHint.start(path, () -> feed.execute(current::poll));
            });
  }

  private void stopFileSource() {
    if (filePoll != null) {
      filePoll.cancel(false);
      filePoll = null;
    }
    if (fileHint != null) {
      try {
        fileHint.close();
      } catch (IOException e) {
        LOG.debug("closing the routes file watcher: {}", e.toString());
      }
      fileHint = null;
    }
    file = null;
  }

  private void startControlPlane() {
    settings
        .controlPlane()
        .ifPresent(
            cp -> {
              var node = settings.node();
              controlPlane =
                  new ControlPlaneClient(
                      cp.addresses(),
                      new ChannelFactory(cp.tls(), Duration.ofMillis(cp.connectTimeoutMs())),
                      Node.newBuilder()
                          .setId(node.id())
                          .setCluster(node.cluster())
                          .setZone(node.zone())
                          .setAddress(node.address())
                          .build(),
                      RECONNECT,
                      Duration.ofMillis(cp.splayMs()),
                      feed,
                      new SecureRandom(),
                      new ControlPlaneClient.Handler() {
                        @Override
                        public void onSnapshot(RouteResponse response) {
                          received(response);
                        }

                        @Override
                        public void onConnection(boolean connected, String target) {
                          status.controlPlane(connected, target);
                        }
                      });
              controlPlane.start();
            });
  }

  private void stopControlPlane() {
    if (controlPlane != null) {
      controlPlane.close();
      controlPlane = null;
    }
  }

  private void received(RouteResponse response) {
    RouteSnapshot snapshot = response.getSnapshot();
    List<Problem> problems = SnapshotValidator.validate(snapshot);
    if (!problems.isEmpty()) {
      LOG.warn(
          "control-plane snapshot refused version={} problems={}",
          snapshot.getVersion(),
          problems.size());
      problems.forEach(
          p ->
              LOG.warn(
                  "control-plane snapshot refused version={} problem=\"{}\"",
                  snapshot.getVersion(),
                  p));
      status.rejected(
          snapshot.getVersion(), problems.size() + " problem(s), first: " + problems.get(0));
      controlPlane.nack(response.getNonce(), problems.stream().map(Problem::toString).toList());
      return;
    }
    fromControlPlane = response;
    submitMerged();
  }

  private void submitMerged() {
    if (fromFile == null && fromControlPlane == null) {
      return;
    }
    RouteMerge merge =
        RouteMerge.of(fromControlPlane == null ? null : fromControlPlane.getSnapshot(), fromFile);
    merge
        .clashes()
        .forEach(
            clash -> {
              LOG.warn("routes clash: {}", clash);
              status.error(clash);
            });
    pendingVersion = merge.snapshot().getVersion();
    status.received(pendingVersion);
    supervisor.submit(merge.snapshot());
  }

  @Override
  public void applied(String version) {
    onFeed(
        () -> {
          if (fromControlPlane != null && controlPlane != null && version.equals(pendingVersion)) {
            controlPlane.ack(
                fromControlPlane.getNonce(), fromControlPlane.getSnapshot().getVersion());
          }
        });
  }

  @Override
  public void refused(String version, List<String> reasons) {
    onFeed(
        () -> {
          if (fromControlPlane != null && controlPlane != null && version.equals(pendingVersion)) {
            controlPlane.nack(fromControlPlane.getNonce(), reasons);
          }
        });
  }

  /**
   * The supervisor may still apply while the agent stops; by then the stream is closed and nothing
   * is owed.
   */
  private void onFeed(Runnable task) {
    try {
      feed.execute(task);
    } catch (RejectedExecutionException e) {
      LOG.debug("routes feed stopped; not answering the control plane");
    }
  }
}

package dev.envoyagent.testkit.envoy;

import io.envoyproxy.envoy.config.core.v3.ConfigSource;

/**
 * One file-based xDS subscription, as Envoy's FilesystemSubscriptionImpl
 * (source/extensions/config_subscription/filesystem/filesystem_subscription_impl.cc) created by
 * SubscriptionFactoryImpl::subscriptionFromConfigSource:
 *
 * <ul>
 *   <li>creation checks the node (Config::Utility::checkLocalInfo) and that the path exists, and
 *       takes its own inotify instance (Filesystem::WatcherImpl), watching the file's directory or
 *       {@code watched_directory} for renames;
 *   <li>{@link #start()} reads the file once; every rename into place reads it again ({@code
 *       refresh()});
 *   <li>stats (Config::SubscriptionStats, ALL_SUBSCRIPTION_STATS in envoy/config/subscription.h)
 *       under the owner's prefix: {@code update_attempt} per read; a file that cannot be read or
 *       parsed counts {@code update_failure} ("Filesystem config update failure: in PATH, ..."); a
 *       parsed file the owner refuses (or one refused for unknown fields) counts {@code
 *       update_rejected} ("Filesystem config update rejected: ..."); only a fully accepted one sets
 *       {@code update_time}, {@code version} (xxHash64 of version_info), {@code version_text} and
 *       counts {@code update_success}.
 * </ul>
 */
final class FileSubscription implements AutoCloseable {
  /**
   * The owner's onConfigUpdate: throws to reject (after applying what it could, for LDS and CDS).
   */
  interface Callbacks {
    void onConfigUpdate(ConfigLoader.DiscoveryFile file) throws ConfigException;
  }

  final PathSource source;
  final String statPrefix;
  private final ConfigLoader loader;
  private final Stats stats;
  private final Log log;
  private final Faults faults;
  private final Callbacks callbacks;
  private final FileWatcher.Instance inotify;
  private volatile boolean started;
  private volatile boolean closed;

  private FileSubscription(
      PathSource source,
      String statPrefix,
      ConfigLoader loader,
      Stats stats,
      Log log,
      Faults faults,
      FileWatcher watcher,
      Callbacks callbacks)
      throws ConfigException {
    this.source = source;
    this.statPrefix = statPrefix;
    this.loader = loader;
    this.stats = stats;
    this.log = log;
    this.faults = faults;
    this.callbacks = callbacks;
    stats.declare(
        statPrefix,
        "init_fetch_timeout",
        "update_attempt",
        "update_failure",
        "update_rejected",
        "update_success");
    stats.gauge(statPrefix + "update_time");
    stats.gauge(statPrefix + "version");
    stats.textReadout(statPrefix + "version_text");
    this.inotify = watcher == null ? null : watcher.newInstance();
    if (inotify != null) {
      try {
        if (source.watchedDirectory() != null) {
          inotify.watchDirectory(source.watchedDirectory(), this::onRename);
        } else {
          inotify.watch(source.path(), this::onRename);
        }
      } catch (ConfigException e) {
        inotify.close();
        throw e;
      }
    }
  }

  /**
   * subscriptionFromConfigSource: node check, path check, then the subscription (and its inotify
   * instance).
   */
  static FileSubscription create(
      ConfigSource config,
      String what,
      String typeUrl,
      String statPrefix,
      ConfigLoader loader,
      Stats stats,
      Log log,
      Faults faults,
      FileWatcher watcher,
      Callbacks callbacks)
      throws ConfigException {
    loader.checkLocalInfo(typeUrl);
    PathSource source = PathSource.of(config, what);
    return new FileSubscription(source, statPrefix, loader, stats, log, faults, watcher, callbacks);
  }

  /** Subscription::start: read whatever is there now. */
  void start() {
    started = true;
    refresh();
  }

  private void onRename() {
    if (started && !closed) {
      refresh();
    }
  }

  /** FilesystemSubscriptionImpl::refresh. */
  void refresh() {
    stats.inc(statPrefix + "update_attempt");
    ConfigLoader.DiscoveryFile file = null;
    try {
      file = loader.loadDiscoveryFile(source.path());
      if (faults != null && faults.rejectAllConfig()) {
        throw new ConfigException(
            "simulator: every config is rejected (" + Faults.REJECT_ALL_CONFIG + ")");
      }
      callbacks.onConfigUpdate(file);
      stats.gauge(statPrefix + "update_time").set(System.currentTimeMillis());
      stats.gauge(statPrefix + "version").set(XxHash64.hash(file.versionInfo()));
      stats.textReadout(statPrefix + "version_text").set(file.versionInfo());
      stats.inc(statPrefix + "update_success");
    } catch (ConfigException e) {
      if (file != null || e instanceof ConfigLoader.UnknownFieldsException) {
        log.warn("config", "Filesystem config update rejected: " + e.getMessage());
        stats.inc(statPrefix + "update_rejected");
      } else {
        log.warn(
            "config",
            "Filesystem config update failure: in " + source.path() + ", " + e.getMessage());
        stats.inc(statPrefix + "update_failure");
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    if (inotify != null) {
      inotify.close();
    }
  }
}

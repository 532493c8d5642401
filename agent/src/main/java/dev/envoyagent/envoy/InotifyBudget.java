package dev.envoyagent.envoy;

import java.util.Optional;

/**
 * How many inotify instances Envoy needs for watched files, against what the host allows. Envoy
 * creates one inotify instance per file subscription ({@code Filesystem::WatcherImpl}) and aborts
 * when it cannot ({@code RELEASE_ASSERT}); the kernel limits instances per user ({@code
 * fs.inotify.max_user_instances}, 128 by default). During a hot restart the parent and the child
 * hold their subscriptions at once, so the need is twice the subscriptions. That also covers a CDS
 * update, when each modified EDS cluster briefly holds a second subscription while it warms.
 *
 * @param subscriptions watched files of one Envoy (LDS, CDS, one per RDS and per EDS file)
 */
public record InotifyBudget(int subscriptions) {

  public static final String SYSCTL = "fs.inotify.max_user_instances";

  public long instancesNeeded() {
    return 2L * subscriptions;
  }

  /**
   * What is wrong when {@code limit} leaves too little, in words an operator can act on; empty when
   * the need fits.
   */
  public Optional<String> shortfall(InotifyLimit limit) {
    long left = limit.maxUserInstances() - limit.heldByOthers();
    if (instancesNeeded() <= left) {
      return Optional.empty();
    }
    long raiseTo =
        Math.max(limit.heldByOthers() + instancesNeeded() + 128, limit.maxUserInstances() * 2);
    return Optional.of(
        subscriptions
            + " watched files need "
            + instancesNeeded()
            + " inotify instances during a hot restart (one per file subscription, parent and child), but "
            + SYSCTL
            + "="
            + limit.maxUserInstances()
            + " leaves "
            + Math.max(0, left)
            + " for user "
            + limit.user()
            + " (other processes hold "
            + limit.heldByOthers()
            + "); Envoy would abort. Raise it (sysctl -w "
            + SYSCTL
            + "="
            + raiseTo
            + ", or a file in /etc/sysctl.d) or use envoy.delivery: restart");
  }

  /**
   * The host's limit for the user Envoy runs as, and the instances that user's other processes (not
   * Envoy's epochs) already hold.
   */
  public record InotifyLimit(long maxUserInstances, long heldByOthers, String user) {}
}

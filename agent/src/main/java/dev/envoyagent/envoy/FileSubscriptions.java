package dev.envoyagent.envoy;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Whether Envoy took up watched files, read from the stats of its file subscriptions. Envoy sets a
 * subscription's {@code version_text} to a file's {@code version_info} only when every resource in
 * it was accepted; a file that does not load counts {@code update_failure}, one whose resources it
 * refuses (all or some) counts {@code update_rejected} ({@code
 * FilesystemSubscriptionImpl::refresh}). The config dump is no help here: Envoy never reports EDS
 * versions there, and reports a new LDS/CDS version even when it refused part of it.
 */
public final class FileSubscriptions {

  /** More subscriptions than this are asked for with one short filter instead of naming each. */
  static final int NAMED_IN_FILTER = 200;

  private FileSubscriptions() {}

  /** One watched file, the prefix of its subscription's stats, and the version it carries. */
  public record Subscription(String file, String statPrefix, String version) {}

  /** Where the files stand: all taken up, some refused, or some not read yet. */
  public record Progress(List<String> pending, List<String> rejected) {
    public Progress {
      pending = List.copyOf(pending);
      rejected = List.copyOf(rejected);
    }

    public boolean confirmed() {
      return pending.isEmpty() && rejected.isEmpty();
    }
  }

  /**
   * The RE2 filter for {@code /stats?filter=} that returns just these subscriptions' versions and
   * failure counters (three stats each), so a 10,000-service Envoy is not asked for every stat.
   */
  public static String statsFilter(Collection<Subscription> subscriptions) {
    String stats = "(version_text|update_rejected|update_failure)$";
    if (subscriptions.size() > NAMED_IN_FILTER) {
      return "\\." + stats;
    }
    return subscriptions.stream()
            .map(s -> s.statPrefix().replace(".", "\\."))
            .distinct()
            .sorted()
            .collect(Collectors.joining("|", "^(", ")"))
        + stats;
  }

  /** update_rejected + update_failure of each file's subscription (0 when Envoy has none yet). */
  public static Map<String, Long> failures(
      Collection<Subscription> subscriptions, Map<String, String> stats) {
    Map<String, Long> failures = new HashMap<>();
    for (Subscription s : subscriptions) {
      failures.put(
          s.file(),
          number(stats.get(s.statPrefix() + "update_rejected"))
              + number(stats.get(s.statPrefix() + "update_failure")));
    }
    return failures;
  }

  /**
   * Judges each file: rejected when its failure counters rose above {@code failuresBefore} (taken
   * just before the files were written; none known means rejections show only as files that never
   * reach their version), confirmed when its {@code version_text} is the file's version.
   */
  public static Progress progress(
      Collection<Subscription> subscriptions,
      Map<String, Long> failuresBefore,
      Map<String, String> stats) {
    Map<String, Long> failuresNow = failures(subscriptions, stats);
    List<String> pending = new ArrayList<>();
    List<String> rejected = new ArrayList<>();
    for (Subscription s : subscriptions) {
      Long before = failuresBefore.get(s.file());
      if (before != null && failuresNow.get(s.file()) > before) {
        rejected.add(s.file());
      } else if (!s.version().equals(stats.get(s.statPrefix() + "version_text"))) {
        pending.add(s.file());
      }
    }
    return new Progress(pending, rejected);
  }

  private static long number(String value) {
    if (value == null) {
      return 0;
    }
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}

package dev.envoyagent.envoy;

import dev.envoyagent.support.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Process control on a Linux host.
 *
 * <p>Envoy asks the kernel for SIGTERM when the thread that started it goes away
 * (PR_SET_PDEATHSIG), so a child of the agent would die with the agent. Envoy is therefore started
 * through a double fork: a shell forks a grandchild and exits; the grandchild waits until it has
 * been adopted by init, records its pid and start time, and only then execs Envoy (in a session of
 * its own, so a Ctrl-C aimed at the agent does not reach it). The agent is never a child subreaper.
 * Exits are seen by polling /proc, which also works for processes adopted from a previous agent.
 */
public final class HostProcessControl implements ProcessControl {

  private static final Logger LOG = LoggerFactory.getLogger(HostProcessControl.class);
  private static final Duration PID_FILE_TIMEOUT = Duration.ofSeconds(10);

  // $1 pid file, $2 log file, then Envoy's argv. The inner shell is the grandchild; it gets the
  // outer shell's pid as an argument because by the time it reads $PPID the outer may be gone.
  private static final String LAUNCH_SCRIPT =
      String.join(
          "\n",
          "pidfile=$1; log=$2; shift 2",
          "sh -c '",
          "  me=$$; first=$1; i=0",
          "  while [ \"$(cut -d\" \" -f4 /proc/$me/stat)\" = \"$first\" ]; do",
          "    i=$((i+1)); [ $i -gt 2000 ] && exit 70",
          "    sleep 0.005",
          "  done",
          "  pidfile=$2; log=$3; shift 3",
          "  printf \"%s %s\\n\" \"$me\" \"$(cut -d\" \" -f22 /proc/$me/stat)\" > \"$pidfile.tmp\" && mv \"$pidfile.tmp\" \"$pidfile\"",
          "  if command -v setsid >/dev/null 2>&1; then exec setsid \"$@\" </dev/null >>\"$log\" 2>&1; fi",
          "  exec \"$@\" </dev/null >>\"$log\" 2>&1",
          "' sh \"$$\" \"$pidfile\" \"$log\" \"$@\" &",
          "exit 0");

  private final Path runDir;
  private final java.util.concurrent.atomic.AtomicReference<CachedVersion> hotRestartVersions =
      new java.util.concurrent.atomic.AtomicReference<>();
  private final java.util.concurrent.atomic.AtomicReference<CachedVersion> versions =
      new java.util.concurrent.atomic.AtomicReference<>();

  /** {@code runDir} holds the pid files of launches in progress. */
  public HostProcessControl(Path runDir) {
    this.runDir = runDir;
  }

  @Override
  public EnvoyProcess launch(
      EnvoyCommand command, Path logFile, String launchDigest, String hotRestartVersion)
      throws IOException {
    Files.createDirectories(runDir);
    Files.createDirectories(logFile.toAbsolutePath().getParent());
    Path pidFile = runDir.resolve("epoch-" + command.epoch() + ".pid");
    Files.deleteIfExists(pidFile);
    List<String> argv =
        new ArrayList<>(
            List.of(
                "/bin/sh",
                "-c",
                LAUNCH_SCRIPT,
                "envoy-launch",
                pidFile.toString(),
                logFile.toString()));
    argv.addAll(command.argv());
    Process shell =
        new ProcessBuilder(argv)
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
            .redirectErrorStream(true)
            .start();
    try {
      if (!shell.waitFor(5, TimeUnit.SECONDS)) {
        shell.destroyForcibly();
        throw new IOException("launch shell did not return within 5 s");
      }
      long deadline = System.nanoTime() + PID_FILE_TIMEOUT.toNanos();
      while (System.nanoTime() < deadline) {
        Optional<long[]> pidAndStart = readPidFile(pidFile);
        if (pidAndStart.isPresent()) {
          Files.deleteIfExists(pidFile);
          return new EnvoyProcess(
              command.epoch(),
              pidAndStart.get()[0],
              pidAndStart.get()[1],
              launchDigest,
              hotRestartVersion,
              command.baseId(),
              command.concurrency(),
              System.currentTimeMillis());
        }
        Thread.sleep(5);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while launching Envoy", e);
    }
    throw new IOException(
        "Envoy epoch "
            + command.epoch()
            + " did not report its pid within "
            + PID_FILE_TIMEOUT.toSeconds()
            + " s (see "
            + logFile
            + ")");
  }

  private static Optional<long[]> readPidFile(Path pidFile) throws IOException {
    try {
      String[] fields = Files.readString(pidFile).trim().split(" ");
      return fields.length == 2
          ? Optional.of(new long[] {Long.parseLong(fields[0]), Long.parseLong(fields[1])})
          : Optional.empty();
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  @Override
  public boolean isAlive(EnvoyProcess process) {
    return ProcStat.read(process.pid())
        .map(
            stat ->
                stat.startTicks() == process.startTicks()
                    && stat.state() != 'Z'
                    && stat.state() != 'X')
        .orElse(false);
  }

  @Override
  public void signal(EnvoyProcess process, String signal) {
    if (!isAlive(process)) {
      return;
    }
    try {
      Process kill =
          new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid()))
              .redirectErrorStream(true)
              .start();
      String output =
          new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        LOG.warn(
            "signal failed signal={} pid={} epoch={} output={}",
            signal,
            process.pid(),
            process.epoch(),
            output);
      }
    } catch (IOException e) {
      LOG.warn("signal failed signal={} pid={} reason={}", signal, process.pid(), e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public Validation validate(Path binary, Path config, Duration timeout) {
    Optional<RunResult> result =
        run(List.of(binary.toString(), "--mode", "validate", "-c", config.toString()), timeout);
    if (result.isEmpty()) {
      return new Validation(
          false,
          "could not run " + binary + " --mode validate within " + timeout.toSeconds() + " s");
    }
    return new Validation(result.get().exitCode() == 0, result.get().output());
  }

  @Override
  public Optional<String> hotRestartVersion(Path binary, Duration timeout) {
    return cached(hotRestartVersions, binary, "--hot-restart-version", timeout);
  }

  /**
   * Kept on disk too, by the binary's identity: the agent asks at every start, and a start from the
   * last known good should not wait for Envoy to run once more.
   */
  @Override
  public Optional<String> version(Path binary, Duration timeout) {
    Path onDisk = runDir.resolve("envoy-version");
    Optional<String> identity = fileIdentity(binary);
    if (versions.get() == null && identity.isPresent()) {
      try {
        String[] known = Files.readString(onDisk).split("\n", 2);
        if (known.length == 2 && known[0].equals(identity.get())) {
          versions.set(new CachedVersion(known[0], known[1]));
        }
      } catch (IOException e) {
        // not asked before
      }
    }
    CachedVersion before = versions.get();
    Optional<String> version = cached(versions, binary, "--version", timeout);
    CachedVersion after = versions.get();
    if (after != null && after != before) {
      try {
        Files.createDirectories(runDir);
        AtomicFiles.write(
            onDisk, (after.identity() + "\n" + after.version()).getBytes(StandardCharsets.UTF_8));
      } catch (IOException e) {
        LOG.debug("cannot keep Envoy's version file={} reason={}", onDisk, e.toString());
      }
    }
    return version;
  }

  /**
   * Runs {@code binary flag} for what it prints. Asked before restarts; running Envoy for it costs
   * a process start (seconds for some builds), so the answer is kept while the binary file is the
   * same (inode, size, mtime).
   */
  private static Optional<String> cached(
      java.util.concurrent.atomic.AtomicReference<CachedVersion> cache,
      Path binary,
      String flag,
      Duration timeout) {
    Optional<String> identity = fileIdentity(binary);
    CachedVersion known = cache.get();
    if (identity.isPresent() && known != null && known.identity().equals(identity.get())) {
      return Optional.of(known.version());
    }
    Optional<String> version =
        run(List.of(binary.toString(), flag), timeout)
            .filter(r -> r.exitCode() == 0)
            .map(r -> r.output().strip())
            .filter(v -> !v.isEmpty());
    if (version.isPresent() && identity.isPresent()) {
      cache.set(new CachedVersion(identity.get(), version.get()));
    }
    return version;
  }

  private record CachedVersion(String identity, String version) {}

  @Override
  public Optional<InotifyBudget.InotifyLimit> inotifyLimit(
      java.util.Collection<EnvoyProcess> envoy) {
    try {
      long max = limitOverride().orElse(readSysctl(MAX_USER_INSTANCES));
      int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      java.util.Set<String> skip = new java.util.HashSet<>();
      envoy.forEach(p -> skip.add(Long.toString(p.pid())));
      long held = 0;
      try (var processes = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
        for (Path process : processes) {
          if (!skip.contains(process.getFileName().toString()) && ownedBy(process, uid)) {
            held += inotifyInstances(process);
          }
        }
      }
      return Optional.of(
          new InotifyBudget.InotifyLimit(
              max, held, System.getProperty("user.name") + " (uid " + uid + ")"));
    } catch (IOException | RuntimeException e) {
      LOG.debug("cannot read the inotify limit reason={}", e.toString());
      return Optional.empty();
    }
  }

  private static final Path MAX_USER_INSTANCES = Path.of("/proc/sys/fs/inotify/max_user_instances");

  /**
   * {@code ENVOY_AGENT_INOTIFY_MAX_USER_INSTANCES} stands in for the sysctl, so that the refusal
   * can be tried without changing the host.
   */
  private static Optional<Long> limitOverride() {
    String value = System.getenv("ENVOY_AGENT_INOTIFY_MAX_USER_INSTANCES");
    return value == null || value.isBlank()
        ? Optional.empty()
        : Optional.of(Long.parseLong(value.strip()));
  }

  /**
   * A /proc/sys value in one read: these files report size 0, and reading them in small pieces (as
   * Files.readString does for a size-0 file) returns only the first byte.
   */
  private static long readSysctl(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return Long.parseLong(new String(in.readNBytes(64), StandardCharsets.US_ASCII).strip());
    }
  }

  private static boolean ownedBy(Path process, int uid) {
    try {
      return ((Integer) Files.getAttribute(process, "unix:uid")) == uid;
    } catch (IOException | RuntimeException e) {
      return false; // gone, or not ours to read
    }
  }

  /**
   * Each inotify instance is an fd linked to anon_inode:inotify (one instance may have several
   * fds).
   */
  private static long inotifyInstances(Path process) {
    long count = 0;
    try (var fds = Files.newDirectoryStream(process.resolve("fd"))) {
      for (Path fd : fds) {
        try {
          if (Files.readSymbolicLink(fd).toString().equals("anon_inode:inotify")) {
            count++;
          }
        } catch (IOException e) {
          // closed while listed
        }
      }
    } catch (IOException e) {
      return 0; // gone, or not ours to read
    }
    return count;
  }

  private static Optional<String> fileIdentity(Path binary) {
    try {
      var attributes =
          Files.readAttributes(binary, java.nio.file.attribute.BasicFileAttributes.class);
      return Optional.of(
          binary.toAbsolutePath()
              + "|"
              + attributes.fileKey()
              + "|"
              + attributes.size()
              + "|"
              + attributes.lastModifiedTime().toMillis());
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private record RunResult(int exitCode, String output) {}

  /**
   * Runs a short command to completion; its own thread waits, so its parent-death signal is moot.
   */
  private static Optional<RunResult> run(List<String> command, Duration timeout) {
    try {
      Process process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
              .start();
      byte[][] output = new byte[1][];
      Thread reader =
          new Thread(
              () -> {
                try (InputStream in = process.getInputStream()) {
                  output[0] = in.readAllBytes();
                } catch (IOException e) {
                  output[0] = new byte[0];
                }
              },
              "envoy-command-output");
      reader.start();
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        reader.join(1000);
        return Optional.empty();
      }
      reader.join(5000);
      String text = output[0] == null ? "" : new String(output[0], StandardCharsets.UTF_8);
      return Optional.of(new RunResult(process.exitValue(), text));
    } catch (IOException e) {
      return Optional.of(
          new RunResult(127, "cannot run " + command.get(0) + ": " + e.getMessage()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }
}

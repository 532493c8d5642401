package dev.envoyagent.testkit.imds;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Runs the emulator as a process for the end-to-end demo, until SIGTERM/SIGINT:
 *
 * <pre>
 * java -cp testkit/target/envoy-simulator.jar dev.envoyagent.testkit.imds.ImdsEmulatorMain \
 *     [--port 0] [--port-file FILE] [--cert-out FILE] [--instance-id ID] [--region R --zone Z --zone-id ZID]
 *     [--private-ip IP] [--tags on|off] [--tag KEY=VALUE]... [--lifecycle STATE]
 * </pre>
 *
 * It prints one line {@code imds-emulator listening endpoint=http://127.0.0.1:PORT} once it serves.
 */
public final class ImdsEmulatorMain {
  private ImdsEmulatorMain() {}

  public static void main(String[] args) throws Exception {
    PrintStream out = System.out;
    Options o;
    try {
      o = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("imds-emulator: " + e.getMessage());
      System.exit(2);
      return;
    }
    ImdsEmulator imds =
        ImdsEmulator.builder().port(o.port).profile(o.profile).tagsEnabled(o.tags).start();
    if (o.lifecycle != null) {
      imds.lifecycleState(o.lifecycle);
    }
    if (o.certOut != null) {
      write(o.certOut, imds.signer().certificatePem());
    }
    if (o.portFile != null) {
      write(o.portFile, imds.port() + "\n");
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  imds.close();
                  stopped.countDown();
                },
                "imds-emulator-shutdown"));
    out.println(
        "imds-emulator listening endpoint="
            + imds.endpoint()
            + " instance_id="
            + o.profile.instanceId()
            + " zone="
            + o.profile.availabilityZone());
    out.flush();
    stopped.await();
  }

  private static void write(Path file, String text) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  /** Parsed command line. */
  record Options(
      int port,
      Path portFile,
      Path certOut,
      InstanceProfile profile,
      boolean tags,
      String lifecycle) {
    static Options parse(String[] args) {
      int port = 0;
      Path portFile = null;
      Path certOut = null;
      InstanceProfile p = InstanceProfile.defaults();
      String region = null;
      String zone = null;
      String zoneId = null;
      boolean tags = true;
      String lifecycle = null;
      Map<String, String> extraTags = new LinkedHashMap<>();
      for (int i = 0; i < args.length; i++) {
        String flag = args[i];
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("missing value for " + flag);
        }
        String v = args[++i];
        switch (flag) {
          case "--port" -> port = Integer.parseInt(v);
          case "--port-file" -> portFile = Path.of(v);
          case "--cert-out" -> certOut = Path.of(v);
          case "--instance-id" -> p = p.withInstanceId(v);
          case "--region" -> region = v;
          case "--zone" -> zone = v;
          case "--zone-id" -> zoneId = v;
          case "--private-ip" -> p = p.withPrivateIpv4(v);
          case "--tags" -> tags = parseOnOff(v);
          case "--tag" -> {
            int eq = v.indexOf('=');
            if (eq <= 0) {
              throw new IllegalArgumentException("--tag wants KEY=VALUE: " + v);
            }
            extraTags.put(v.substring(0, eq), v.substring(eq + 1));
          }
          case "--lifecycle" -> lifecycle = v;
          default -> throw new IllegalArgumentException("unknown option " + flag);
        }
      }
      if (zone != null || region != null || zoneId != null) {
        String z = zone != null ? zone : p.availabilityZone();
        String r = region != null ? region : z.substring(0, z.length() - 1);
        p = p.withPlacement(r, z, zoneId != null ? zoneId : p.availabilityZoneId());
      }
      if (!extraTags.isEmpty()) {
        Map<String, String> all = new LinkedHashMap<>(p.tags());
        all.putAll(extraTags);
        p = p.withTags(all);
      }
      return new Options(port, portFile, certOut, p, tags, lifecycle);
    }

    private static boolean parseOnOff(String v) {
      return switch (v) {
        case "on" -> true;
        case "off" -> false;
        default -> throw new IllegalArgumentException("--tags wants on or off: " + v);
      };
    }
  }
}

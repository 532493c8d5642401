package dev.envoyagent.testkit.imds;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * The emulator's scripting API over HTTP, for the end-to-end demo where the emulator is a separate
 * process. Outside IMDS's namespace and token-free (loopback only). Every call answers 200 "ok" or
 * 400 with the reason:
 *
 * <pre>
 * POST   /_emulator/spot?action=terminate[&amp;in_s=120]   spot/instance-action, time = now + in_s (default 120)
 * DELETE /_emulator/spot
 * POST   /_emulator/lifecycle?state=Terminated             autoscaling/target-lifecycle-state; DELETE → 404
 * POST   /_emulator/tags?enabled=true|false
 * POST   /_emulator/fault?status=503[&amp;count=3][&amp;body=true][&amp;path=/latest/meta-data/spot]; DELETE clears
 * POST   /_emulator/delay?ms=1500[&amp;count=1]; DELETE clears
 * POST   /_emulator/invalidate-tokens
 * POST   /_emulator/unauthorized-body?enabled=true|false
 * GET    /_emulator/certificate                            the PEM that verifies rsa2048
 * </pre>
 *
 * A missing {@code count} means "until cleared".
 */
final class ControlApi implements HttpHandler {
  static final String PREFIX = "/_emulator/";

  private final ImdsEmulator imds;

  ControlApi(ImdsEmulator imds) {
    this.imds = imds;
  }

  @Override
  public void handle(HttpExchange ex) throws IOException {
    try {
      String what = ex.getRequestURI().getPath().substring(PREFIX.length());
      Map<String, String> q = query(ex.getRequestURI().getRawQuery());
      boolean delete = "DELETE".equals(ex.getRequestMethod());
      if ("certificate".equals(what)) {
        ImdsEmulator.send(ex, 200, imds.signer().certificatePem());
        return;
      }
      if (!delete && !"POST".equals(ex.getRequestMethod())) {
        ImdsEmulator.send(ex, 405, "POST or DELETE\n");
        return;
      }
      apply(what, q, delete);
      ImdsEmulator.send(ex, 200, "ok\n");
    } catch (IllegalArgumentException e) {
      ImdsEmulator.send(ex, 400, e.getMessage() + "\n");
    } finally {
      ex.close();
    }
  }

  private void apply(String what, Map<String, String> q, boolean delete) {
    switch (what) {
      case "spot" -> {
        if (delete) {
          imds.clearSpotInterruption();
        } else {
          long in = Long.parseLong(q.getOrDefault("in_s", "120"));
          imds.spotInterruption(
              required(q, "action"),
              imds.now().plusSeconds(in).truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
        }
      }
      case "lifecycle" -> imds.lifecycleState(delete ? null : required(q, "state"));
      case "tags" -> imds.tagsEnabled(Boolean.parseBoolean(required(q, "enabled")));
      case "fault" -> {
        if (delete) {
          imds.clearFault();
        } else {
          imds.injectFault(
              new Fault(
                  Integer.parseInt(required(q, "status")),
                  Boolean.parseBoolean(q.getOrDefault("body", "true")),
                  q.getOrDefault("path", "/")),
              count(q));
        }
      }
      case "delay" -> {
        if (delete) {
          imds.clearDelay();
        } else {
          imds.delayResponses(Duration.ofMillis(Long.parseLong(required(q, "ms"))), count(q));
        }
      }
      case "invalidate-tokens" -> imds.invalidateAllTokens();
      case "unauthorized-body" ->
          imds.unauthorizedWithBody(Boolean.parseBoolean(required(q, "enabled")));
      default -> throw new IllegalArgumentException("unknown control path: " + what);
    }
  }

  private static int count(Map<String, String> q) {
    return q.containsKey("count") ? Integer.parseInt(q.get("count")) : Integer.MAX_VALUE;
  }

  private static String required(Map<String, String> q, String name) {
    String v = q.get(name);
    if (v == null || v.isEmpty()) {
      throw new IllegalArgumentException("missing query parameter: " + name);
    }
    return v;
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> out = new HashMap<>();
    if (raw == null || raw.isEmpty()) {
      return out;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String k = eq < 0 ? pair : pair.substring(0, eq);
      String v = eq < 0 ? "" : pair.substring(eq + 1);
      out.put(
          URLDecoder.decode(k, StandardCharsets.UTF_8),
          URLDecoder.decode(v, StandardCharsets.UTF_8));
    }
    return out;
  }
}

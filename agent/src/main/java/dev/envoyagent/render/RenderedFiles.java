package dev.envoyagent.render;

import dev.envoyagent.support.Sha256;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/** The bytes of every file of one rendered configuration, as they will be written. */
public record RenderedFiles(String version, byte[] bootstrap, SortedMap<String, byte[]> watched) {

  public RenderedFiles {
    watched = Collections.unmodifiableSortedMap(new TreeMap<>(watched));
  }

  /** sha256 over every path and content, in a fixed order: equal digests mean equal files. */
  public String digest() {
    MessageDigest sha = sha256();
    update(sha, RenderedConfig.BOOTSTRAP_FILE, bootstrap);
    for (Map.Entry<String, byte[]> file : watched.entrySet()) {
      update(sha, file.getKey(), file.getValue());
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  /** sha256 of the bootstrap alone: when it changes, Envoy needs a restart. */
  public String bootstrapDigest() {
    MessageDigest sha = sha256();
    sha.update(bootstrap);
    return HexFormat.of().formatHex(sha.digest());
  }

  private static void update(MessageDigest sha, String path, byte[] content) {
    sha.update(path.getBytes(StandardCharsets.UTF_8));
    sha.update((byte) 0);
    sha.update(Long.toString(content.length).getBytes(StandardCharsets.UTF_8));
    sha.update((byte) 0);
    sha.update(content);
  }

  private static MessageDigest sha256() {
    return Sha256.newDigest();
  }
}

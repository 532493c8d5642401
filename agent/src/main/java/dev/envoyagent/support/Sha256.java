package dev.envoyagent.support;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256, the one digest the agent uses for file contents, snapshots and launch identities. */
public final class Sha256 {

  private Sha256() {}

  /** A fresh digest to feed piece by piece. */
  public static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /** The digest of {@code content} as lowercase hex. */
  public static String hex(byte[] content) {
    return HexFormat.of().formatHex(newDigest().digest(content));
  }
}

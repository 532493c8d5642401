package dev.envoyagent.controlplane;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Certificates and private keys from PEM text, with the JDK only. Keys: PKCS#8 ({@code PRIVATE
 * KEY}; RSA, EC, Ed25519) and PKCS#1 ({@code RSA PRIVATE KEY}). Other forms are refused with the
 * openssl command that converts them.
 */
final class PemIdentity {

  private static final Pattern BLOCK =
      Pattern.compile("-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");
  private static final List<String> KEY_ALGORITHMS = List.of("RSA", "EC", "Ed25519", "Ed448");

  private PemIdentity() {}

  static List<X509Certificate> certificates(byte[] pem, String what)
      throws GeneralSecurityException {
    List<X509Certificate> certs =
        CertificateFactory.getInstance("X.509")
            .generateCertificates(new ByteArrayInputStream(pem))
            .stream()
            .map(X509Certificate.class::cast)
            .toList();
    if (certs.isEmpty()) {
      throw new GeneralSecurityException(what + " holds no certificate");
    }
    return certs;
  }

  static PrivateKey privateKey(byte[] pem, String what) throws GeneralSecurityException {
    Matcher block = BLOCK.matcher(new String(pem, StandardCharsets.US_ASCII));
    while (block.find()) {
      byte[] der = Base64.getMimeDecoder().decode(block.group(2));
      switch (block.group(1)) {
        case "PRIVATE KEY" -> {
          return pkcs8(der, what);
        }
        case "RSA PRIVATE KEY" -> {
          return KeyFactory.getInstance("RSA")
              .generatePrivate(new PKCS8EncodedKeySpec(Der.rsaPkcs1ToPkcs8(der)));
        }
        case "ENCRYPTED PRIVATE KEY", "EC PRIVATE KEY" ->
            throw new GeneralSecurityException(
                what
                    + " holds an "
                    + block.group(1)
                    + "; convert it: openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8");
        default -> {
          // e.g. "EC PARAMETERS" before the key: skip
        }
      }
    }
    throw new GeneralSecurityException(what + " holds no PEM private key");
  }

  private static PrivateKey pkcs8(byte[] der, String what) throws GeneralSecurityException {
    for (String algorithm : KEY_ALGORITHMS) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException wrongAlgorithm) {
        // try the next one: PKCS#8 names the algorithm, but the JDK wants it up front
      }
    }
    throw new GeneralSecurityException(what + ": a private key of none of " + KEY_ALGORITHMS);
  }

  /** Refuses a key that does not belong to the certificate: it would fail every handshake later. */
  static void checkPair(PrivateKey key, X509Certificate cert, String what)
      throws GeneralSecurityException {
    String algorithm =
        switch (key.getAlgorithm()) {
          case "RSA" -> "SHA256withRSA";
          case "EC" -> "SHA256withECDSA";
          default -> key.getAlgorithm();
        };
    byte[] probe = "envoy-agent key check".getBytes(StandardCharsets.US_ASCII);
    Signature signer = Signature.getInstance(algorithm);
    signer.initSign(key);
    signer.update(probe);
    byte[] signature = signer.sign();
    Signature verifier = Signature.getInstance(algorithm);
    verifier.initVerify(cert.getPublicKey());
    verifier.update(probe);
    if (!verifier.verify(signature)) {
      throw new GeneralSecurityException(what + ": the key does not belong to the certificate");
    }
  }

  /** Just enough DER to wrap a PKCS#1 RSA key as PKCS#8. */
  private static final class Der {
    private static final byte[] RSA_ALGORITHM = {
      0x30,
      0x0d,
      0x06,
      0x09,
      0x2a,
      (byte) 0x86,
      0x48,
      (byte) 0x86,
      (byte) 0xf7,
      0x0d,
      0x01,
      0x01,
      0x01,
      0x05,
      0x00
    };
    private static final byte[] VERSION_0 = {0x02, 0x01, 0x00};

    static byte[] rsaPkcs1ToPkcs8(byte[] pkcs1) {
      byte[] octets = tlv(0x04, pkcs1);
      byte[] body = new byte[VERSION_0.length + RSA_ALGORITHM.length + octets.length];
      System.arraycopy(VERSION_0, 0, body, 0, VERSION_0.length);
      System.arraycopy(RSA_ALGORITHM, 0, body, VERSION_0.length, RSA_ALGORITHM.length);
      System.arraycopy(octets, 0, body, VERSION_0.length + RSA_ALGORITHM.length, octets.length);
      return tlv(0x30, body);
    }

    private static byte[] tlv(int tag, byte[] value) {
      int n = value.length;
      byte[] length =
          n < 0x80
              ? new byte[] {(byte) n}
              : n < 0x100
                  ? new byte[] {(byte) 0x81, (byte) n}
                  : n < 0x10000
                      ? new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n}
                      : new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
      byte[] out = new byte[1 + length.length + n];
      out[0] = (byte) tag;
      System.arraycopy(length, 0, out, 1, length.length);
      System.arraycopy(value, 0, out, 1 + length.length, n);
      return out;
    }
  }
}

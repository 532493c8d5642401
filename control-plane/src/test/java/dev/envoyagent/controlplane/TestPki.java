package dev.envoyagent.controlplane;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates made at test time: a CA, and leaves it signs, written as PEM files. Public for the
 * end-to-end tests (dev.envoyagent.it) too.
 */
public final class TestPki {

  public record Issued(X509Certificate cert, PrivateKey key) {}

  /** A leaf's certificate and key as files. */
  public record KeyFiles(Path cert, Path key) {}

  private static final AtomicLong SERIAL = new AtomicLong(1);

  private TestPki() {}

  static KeyPair ecKeyPair() throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    return generator.generateKeyPair();
  }

  public static Issued ca(String name) throws Exception {
    KeyPair pair = ecKeyPair();
    X500Name subject = new X500Name("CN=" + name);
    X509v3CertificateBuilder builder =
        builder(subject, subject, pair)
            .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
            .addExtension(
                Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    return new Issued(sign(builder, pair.getPrivate()), pair.getPrivate());
  }

  /** A leaf for 127.0.0.1 and localhost, usable as server or client certificate. */
  static Issued leaf(Issued ca, String name, KeyPair pair) throws Exception {
    X509v3CertificateBuilder builder =
        builder(
                new X500Name(ca.cert().getSubjectX500Principal().getName()),
                new X500Name("CN=" + name),
                pair)
            .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
            .addExtension(
                Extension.subjectAlternativeName,
                false,
                new GeneralNames(
                    new GeneralName[] {
                      new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                      new GeneralName(GeneralName.dNSName, "localhost")
                    }));
    return new Issued(sign(builder, ca.key()), pair.getPrivate());
  }

  public static Issued leaf(Issued ca, String name) throws Exception {
    return leaf(ca, name, ecKeyPair());
  }

  private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair pair) {
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(
        issuer,
        BigInteger.valueOf(SERIAL.getAndIncrement()),
        Date.from(now.minus(1, ChronoUnit.HOURS)),
        Date.from(now.plus(1, ChronoUnit.DAYS)),
        subject,
        pair.getPublic());
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signer)
      throws OperatorCreationException, GeneralSecurityException {
    return new JcaX509CertificateConverter()
        .getCertificate(
            builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
  }

  static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }

  public static Path writeCert(Path file, X509Certificate... certs)
      throws IOException, GeneralSecurityException {
    StringBuilder text = new StringBuilder();
    for (X509Certificate cert : certs) {
      text.append(pem("CERTIFICATE", cert.getEncoded()));
    }
    return Files.writeString(file, text);
  }

  /** PKCS#8, the form every TLS stack reads. */
  public static Path writeKey(Path file, PrivateKey key) throws IOException {
    return Files.writeString(file, pem("PRIVATE KEY", key.getEncoded()));
  }

  /** {@code issued} as {@code dir/name.pem} and {@code dir/name.key}. */
  public static KeyFiles write(Path dir, String name, Issued issued)
      throws IOException, GeneralSecurityException {
    return new KeyFiles(
        writeCert(dir.resolve(name + ".pem"), issued.cert()),
        writeKey(dir.resolve(name + ".key"), issued.key()));
  }
}

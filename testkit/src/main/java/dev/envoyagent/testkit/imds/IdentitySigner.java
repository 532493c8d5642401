package dev.envoyagent.testkit.imds;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.jcajce.JcaSignerInfoGeneratorBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

/**
 * Signs identity documents the way IMDS's {@code rsa2048} does: a PKCS7/CMS SignedData (SHA-256
 * with RSA 2048) that encapsulates the document, base64 in 64-character lines, without the
 * certificate — a verifier holds the certificate itself, as a control plane holds AWS's per-region
 * one. The key and a self-signed test certificate are generated once per JVM (RSA key generation is
 * slow on a shared 2-core machine).
 */
public final class IdentitySigner {
  private static final IdentitySigner SHARED = generate();

  private final KeyPair keyPair;
  private final X509Certificate certificate;

  private IdentitySigner(KeyPair keyPair, X509Certificate certificate) {
    this.keyPair = keyPair;
    this.certificate = certificate;
  }

  /** The JVM-wide test signer. */
  public static IdentitySigner shared() {
    return SHARED;
  }

  /** The certificate to verify {@link #sign} output with. */
  public X509Certificate certificate() {
    return certificate;
  }

  public String certificatePem() {
    try {
      String body =
          Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
              .encodeToString(certificate.getEncoded());
      return "-----BEGIN CERTIFICATE-----\n" + body + "\n-----END CERTIFICATE-----\n";
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException("cannot encode the test certificate", e);
    }
  }

  /** Base64 (64-character LF lines) of a CMS SignedData that encapsulates {@code content}. */
  public String sign(byte[] content) {
    try {
      CMSSignedDataGenerator generator = new CMSSignedDataGenerator();
      generator.addSignerInfoGenerator(
          new JcaSignerInfoGeneratorBuilder(new JcaDigestCalculatorProviderBuilder().build())
              .build(contentSigner(), certificate));
      CMSSignedData signed = generator.generate(new CMSProcessableByteArray(content), true);
      return Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
          .encodeToString(signed.getEncoded());
    } catch (OperatorCreationException | CertificateEncodingException | CMSException e) {
      throw new IllegalStateException("cannot sign the identity document", e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private ContentSigner contentSigner() throws OperatorCreationException {
    return new JcaContentSignerBuilder("SHA256withRSA").build(keyPair.getPrivate());
  }

  private static IdentitySigner generate() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
      generator.initialize(2048);
      KeyPair pair = generator.generateKeyPair();
      X500Name name = new X500Name("CN=envoy-agent testkit IMDS identity,O=envoy-agent testkit");
      Instant now = Instant.now();
      JcaX509v3CertificateBuilder builder =
          new JcaX509v3CertificateBuilder(
              name,
              BigInteger.valueOf(now.toEpochMilli()),
              Date.from(now.minus(Duration.ofDays(1))),
              Date.from(now.plus(Duration.ofDays(3650))),
              name,
              pair.getPublic());
      ContentSigner signer = new JcaContentSignerBuilder("SHA256withRSA").build(pair.getPrivate());
      X509Certificate cert =
          new JcaX509CertificateConverter().getCertificate(builder.build(signer));
      return new IdentitySigner(pair, cert);
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot create the IMDS test certificate", e);
    }
  }
}

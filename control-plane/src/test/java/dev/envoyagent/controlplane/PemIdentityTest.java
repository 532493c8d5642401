package dev.envoyagent.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.junit.jupiter.api.Test;

class PemIdentityTest {

  @Test
  void readsPkcs8AndPkcs1RsaKeys() throws Exception {
    KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
    rsa.initialize(2048);
    KeyPair pair = rsa.generateKeyPair();
    byte[] pkcs1 =
        PrivateKeyInfo.getInstance(pair.getPrivate().getEncoded())
            .parsePrivateKey()
            .toASN1Primitive()
            .getEncoded();
    PrivateKey fromPkcs1 =
        PemIdentity.privateKey(bytes(TestPki.pem("RSA PRIVATE KEY", pkcs1)), "k");
    PrivateKey fromPkcs8 =
        PemIdentity.privateKey(
            bytes(TestPki.pem("PRIVATE KEY", pair.getPrivate().getEncoded())), "k");
    assertThat(fromPkcs1.getEncoded()).isEqualTo(pair.getPrivate().getEncoded());
    assertThat(fromPkcs8.getEncoded()).isEqualTo(pair.getPrivate().getEncoded());
  }

  @Test
  void readsEcKeysAndChecksTheyBelongToTheCertificate() throws Exception {
    TestPki.Issued ca = TestPki.ca("ca");
    TestPki.Issued leaf = TestPki.leaf(ca, "server");
    PrivateKey key =
        PemIdentity.privateKey(bytes(TestPki.pem("PRIVATE KEY", leaf.key().getEncoded())), "k");
    PemIdentity.checkPair(key, leaf.cert(), "k");
    assertThatThrownBy(() -> PemIdentity.checkPair(key, ca.cert(), "k"))
        .isInstanceOf(GeneralSecurityException.class)
        .hasMessage("k: the key does not belong to the certificate");
  }

  @Test
  void sec1EcKeysAndGarbageAreRefusedWithAHint() {
    assertThatThrownBy(
            () ->
                PemIdentity.privateKey(
                    bytes(TestPki.pem("EC PRIVATE KEY", new byte[] {1, 2})), "k"))
        .hasMessageContaining("openssl pkcs8 -topk8");
    assertThatThrownBy(() -> PemIdentity.privateKey(bytes("nothing here"), "k"))
        .hasMessage("k holds no PEM private key");
    assertThatThrownBy(() -> PemIdentity.certificates(bytes(""), "c"))
        .isInstanceOf(GeneralSecurityException.class);
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }
}

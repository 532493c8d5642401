package dev.envoyagent.controlplane;

import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's TLS identity (and, for mTLS, the CA client certificates must chain to), read
 * from PEM files and re-read when their bytes change: the gRPC server keeps one set of credentials
 * whose key and trust managers delegate to whatever was read last, so new handshakes use new files
 * without a restart. Files that do not load (half-written, key not matching the certificate) are
 * reported and the previous ones stay in use.
 */
public final class ReloadingTls {

  private static final Logger LOG = LoggerFactory.getLogger(ReloadingTls.class);
  private static final String ALIAS = "control-plane";

  /**
   * @param clientCa empty: TLS only; present: every client must show a certificate from this CA
   */
  public record TlsFiles(Path cert, Path key, Optional<Path> clientCa) {}

  /** The files' bytes, read once, so what is compared is exactly what was loaded. */
  private record Contents(byte[] cert, byte[] key, byte[] clientCa) {
    boolean sameAs(Contents other) {
      return other != null
          && Arrays.equals(cert, other.cert)
          && Arrays.equals(key, other.key)
          && Arrays.equals(clientCa, other.clientCa);
    }
  }

  private record Loaded(X509ExtendedKeyManager keys, X509ExtendedTrustManager trust) {}

  private final TlsFiles files;
  private volatile Loaded loaded;
  private Contents lastTried;

  private ReloadingTls(TlsFiles files, Contents contents, Loaded loaded) {
    this.files = files;
    this.lastTried = contents;
    this.loaded = loaded;
  }

  /** Reads the files now; refuses to start with files that do not load. */
  public static ReloadingTls load(TlsFiles files) throws IOException, GeneralSecurityException {
    Contents contents = read(files);
    return new ReloadingTls(files, contents, build(files, contents));
  }

  public ServerCredentials credentials() {
    TlsServerCredentials.Builder builder =
        TlsServerCredentials.newBuilder().keyManager(new KeyManager());
    if (files.clientCa().isPresent()) {
      builder.trustManager(new TrustManager()).clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
    }
    return builder.build();
  }

  /**
   * Re-reads the files if their bytes changed; true when new ones are in use. Call from one thread.
   */
  public boolean reloadIfChanged() {
    Contents contents;
    try {
      contents = read(files);
    } catch (IOException e) {
      LOG.warn("tls files unreadable reason=\"{}\"; keeping the loaded ones", e.getMessage());
      return false;
    }
    if (contents.sameAs(lastTried)) {
      return false;
    }
    // Remembered even when refused: a half-written set is retried once its bytes change again.
    lastTried = contents;
    try {
      loaded = build(files, contents);
      LOG.info(
          "tls files reloaded cert={} client_ca={}",
          files.cert(),
          files.clientCa().map(Path::toString).orElse(""));
      return true;
    } catch (GeneralSecurityException e) {
      LOG.warn("tls files refused reason=\"{}\"; keeping the loaded ones", e.getMessage());
      return false;
    }
  }

  private static Contents read(TlsFiles files) throws IOException {
    return new Contents(
        Files.readAllBytes(files.cert()),
        Files.readAllBytes(files.key()),
        files.clientCa().isPresent() ? Files.readAllBytes(files.clientCa().get()) : new byte[0]);
  }

  private static Loaded build(TlsFiles files, Contents contents) throws GeneralSecurityException {
    List<X509Certificate> chain =
        PemIdentity.certificates(contents.cert(), files.cert().toString());
    PrivateKey key = PemIdentity.privateKey(contents.key(), files.key().toString());
    PemIdentity.checkPair(key, chain.get(0), files.key().toString());
    KeyStore keyStore = emptyKeyStore();
    keyStore.setKeyEntry(ALIAS, key, new char[0], chain.toArray(X509Certificate[]::new));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keyStore, new char[0]);
    X509ExtendedKeyManager keys = (X509ExtendedKeyManager) kmf.getKeyManagers()[0];
    X509ExtendedTrustManager trust = null;
    if (files.clientCa().isPresent()) {
      KeyStore cas = emptyKeyStore();
      int i = 0;
      for (X509Certificate ca :
          PemIdentity.certificates(contents.clientCa(), files.clientCa().get().toString())) {
        cas.setCertificateEntry("ca-" + i++, ca);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
      tmf.init(cas);
      trust = (X509ExtendedTrustManager) tmf.getTrustManagers()[0];
    }
    return new Loaded(keys, trust);
  }

  private static KeyStore emptyKeyStore() throws GeneralSecurityException {
    KeyStore store = KeyStore.getInstance("PKCS12");
    try {
      store.load(null, null);
    } catch (IOException e) {
      throw new GeneralSecurityException("an empty in-memory key store cannot fail to load", e);
    }
    return store;
  }

  /** Asks whatever identity was loaded last, at each handshake. */
  private final class KeyManager extends X509ExtendedKeyManager {
    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
      return loaded.keys().chooseEngineServerAlias(keyType, issuers, engine);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return loaded.keys().chooseServerAlias(keyType, issuers, socket);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return loaded.keys().getServerAliases(keyType, issuers);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return loaded.keys().getCertificateChain(alias);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return loaded.keys().getPrivateKey(alias);
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return null; // a server only
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return null;
    }
  }

  /** Checks client certificates against the CA loaded last. */
  private final class TrustManager extends X509ExtendedTrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      loaded.trust().checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      loaded.trust().checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      loaded.trust().checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      throw new CertificateException("a server only");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      throw new CertificateException("a server only");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      throw new CertificateException("a server only");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return loaded.trust().getAcceptedIssuers();
    }
  }
}

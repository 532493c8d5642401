package dev.envoyagent.support;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.io.IOException;
import java.net.ConnectException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** The one-line reason logged when the route stream or a heartbeat fails. */
class GrpcReasonTest {

  @Test
  void transportFailuresSayWhatHappened() {
    Status ssl =
        Status.UNAVAILABLE
            .withDescription("ssl exception")
            .withCause(
                new IOException(
                    "wrapped", new SSLHandshakeException("Received fatal alert: bad_certificate")));
    assertThat(GrpcReason.of(ssl))
        .isEqualTo("ssl exception: Received fatal alert: bad_certificate");

    Status refused =
        Status.UNAVAILABLE
            .withDescription("io exception")
            .withCause(new ConnectException("Connection refused: /127.0.0.1:18000"));
    assertThat(GrpcReason.of(refused))
        .isEqualTo("io exception: Connection refused: /127.0.0.1:18000");
  }

  @Test
  void oneLineOnly() {
    Status pipeline =
        Status.UNAVAILABLE
            .withDescription("io exception\nChannel Pipeline: [SslHandler#0]")
            .withCause(
                new IOException(
                    "x",
                    new IOException("unable to find valid certification path\nto \"target\"")));
    assertThat(GrpcReason.of(pipeline))
        .isEqualTo("io exception: unable to find valid certification path to 'target'");
  }

  @Test
  void aDescriptionAloneIsKeptAsItIs() {
    assertThat(GrpcReason.of(Status.UNAVAILABLE.withDescription("control plane shutting down")))
        .isEqualTo("control plane shutting down");
    assertThat(GrpcReason.of(Status.UNAVAILABLE)).isEmpty();
    assertThat(GrpcReason.of(Status.UNAVAILABLE.withCause(new IOException("reset"))))
        .isEqualTo("reset");
  }
}

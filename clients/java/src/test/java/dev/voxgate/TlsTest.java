package dev.voxgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.grpc.Status;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS, mutual TLS and bearer tokens, against a second live voxgate that clients/java/test.sh
 * starts with them on (clients/tls-test-server.sh: --tls-cert, --tls-client-ca,
 * --auth-tokens-file): its host:port in $VOXGATE_TEST_TLS_ADDR, its certificates
 * (scripts/make_test_certs.py) and tokens ("token": tenant acme, every service; "kiosk.token":
 * SynthesisService only) in $VOXGATE_TEST_TLS_DIR. Without those the live tests are skipped.
 */
class TlsTest {
  private static final String MISSING_TOKEN =
      "missing credentials: send the metadata 'authorization: Bearer <token>'";

  static String addr;
  static Path dir;
  static String token;
  static String kioskToken;

  @BeforeAll
  static void readEnvironment() throws IOException {
    addr = System.getenv("VOXGATE_TEST_TLS_ADDR");
    String d = System.getenv("VOXGATE_TEST_TLS_DIR");
    if (addr == null || addr.isBlank() || d == null || d.isBlank()) {
      addr = null;
      return;
    }
    dir = Path.of(d);
    token = Files.readString(dir.resolve("token")).strip();
    kioskToken = Files.readString(dir.resolve("kiosk.token")).strip();
  }

  static void needServer() {
    assumeTrue(
        addr != null,
        "VOXGATE_TEST_TLS_ADDR / VOXGATE_TEST_TLS_DIR are not set: clients/java/test.sh starts a"
            + " voxgate with TLS, mutual TLS and tokens for these tests");
  }

  /** A builder that trusts the test CA and presents the client certificate it signed. */
  static VoxgateClient.Builder mtls(String address) {
    return VoxgateClient.builder(address)
        .tlsCa(dir.resolve("ca.pem"))
        .tlsClientCertificate(dir.resolve("client.pem"), dir.resolve("client.key"));
  }

  /** One GetServerInfo failing fast (no wait-for-ready); its failure, or null. */
  static VoxgateException serverInfoFailure(VoxgateClient.Builder builder) {
    try (VoxgateClient c = builder.waitForReady(false).timeout(Duration.ofSeconds(30)).build()) {
      c.getServerInfo();
      return null;
    } catch (VoxgateException e) {
      return e;
    }
  }

  @Test
  void mutualTlsWithATokenWorks() throws IOException {
    needServer();
    Path conformance = LiveServer.repoRoot().resolve("conformance");
    JsonObject manifest =
        JsonParser.parseString(Files.readString(conformance.resolve("manifest.json"))).getAsJsonObject();
    JsonObject vector = manifest.getAsJsonArray("tokenize").get(0).getAsJsonObject();
    List<Integer> want = ints(vector.getAsJsonArray("interleaved"));
    Path audio = conformance.resolve(vector.get("file").getAsString());
    // The default service config (wait-for-ready, retries) over a mutual-TLS channel.
    try (VoxgateClient client = mtls(addr).token(token).timeout(Duration.ofSeconds(60)).build()) {
      assertEquals(5120, client.getServerInfo().getTokenSpec().getVocabularySize());
      assertEquals(want, client.tokenizeFile(audio, false).getTokens().getInterleavedList(), "Tokenize");
      // A streaming call carries the token too.
      assertEquals(want, client.streamTokenizeFile(audio, 4096, false).getTokens().getInterleavedList(), "StreamTokenize");
    }
  }

  @Test
  void theServerNameCanBeOverridden() {
    needServer();
    String port = addr.substring(addr.lastIndexOf(':') + 1);
    // Dialled by IP address, checked against the name on the certificate.
    assertEquals(null, serverInfoFailure(mtls("127.0.0.1:" + port).tlsServerName("localhost").token(token)));
    VoxgateException e = serverInfoFailure(mtls(addr).tlsServerName("not-the-server.example").token(token));
    assertTrue(e != null && e.getCode() == Status.Code.UNAVAILABLE, "a name not on the certificate: " + e);
  }

  @Test
  void refusals() {
    needServer();
    Path ca = dir.resolve("ca.pem");
    record Case(String name, UnaryOperator<VoxgateClient.Builder> settings, Status.Code code, String message) {}
    List<Case> cases = new ArrayList<>();
    cases.add(new Case("no client certificate", b -> b.tlsCa(ca).token(token), Status.Code.UNAVAILABLE, null));
    cases.add(new Case("a client certificate of another CA",
        b -> b.tlsCa(ca).tlsClientCertificate(dir.resolve("untrusted-client.pem"), dir.resolve("untrusted-client.key")).token(token),
        Status.Code.UNAVAILABLE, null));
    cases.add(new Case("a server certificate from an untrusted CA",
        b -> b.tlsCa(dir.resolve("other-ca.pem")).tlsClientCertificate(dir.resolve("client.pem"), dir.resolve("client.key")).token(token),
        Status.Code.UNAVAILABLE, null));
    cases.add(new Case("plaintext to the TLS port", b -> b.token(token), Status.Code.UNAVAILABLE, null));
    cases.add(new Case("no token", b -> b.tlsCa(ca).tlsClientCertificate(dir.resolve("client.pem"), dir.resolve("client.key")),
        Status.Code.UNAUTHENTICATED, MISSING_TOKEN));
    cases.add(new Case("an unknown token",
        b -> b.tlsCa(ca).tlsClientCertificate(dir.resolve("client.pem"), dir.resolve("client.key")).token("not-a-token"),
        Status.Code.UNAUTHENTICATED, "invalid token"));
    cases.add(new Case("a tenant limited to SynthesisService",
        b -> b.tlsCa(ca).tlsClientCertificate(dir.resolve("client.pem"), dir.resolve("client.key")).token(kioskToken),
        Status.Code.PERMISSION_DENIED, "tenant 'kiosk' may not call voxgate.v1.DiscoveryService"));
    for (Case c : cases) {
      VoxgateException e = serverInfoFailure(c.settings().apply(VoxgateClient.builder(addr)));
      assertTrue(e != null, c.name() + ": the call succeeded");
      assertEquals(c.code(), e.getCode(), c.name() + ": " + e.getMessage());
      if (c.message() != null) {
        assertEquals(c.message(), e.getStatusMessage(), c.name());
      }
    }
    // With wait-for-ready (the default) a refused handshake is retried until the deadline.
    try (VoxgateClient c = VoxgateClient.builder(addr).tlsCa(ca).token(token).timeout(Duration.ofSeconds(2)).build()) {
      VoxgateException e = assertThrows(VoxgateException.class, c::getServerInfo);
      assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getCode(), "no client certificate, wait-for-ready: " + e);
    }
    // The kiosk tenant may call the service it is limited to.
    try (VoxgateClient kiosk = mtls(addr).token(kioskToken).waitForReady(false).build()) {
      kiosk.listVoices();
    }
  }

  @Test
  void badTlsFilesAreRefusedWhenBuilding(@TempDir Path tmp) throws IOException {
    Path notPem = tmp.resolve("ca.pem");
    Files.writeString(notPem, "not a certificate\n");
    assertThrows(UncheckedIOException.class,
        () -> VoxgateClient.builder("127.0.0.1:1").tlsCa(tmp.resolve("missing.pem")).build());
    assertThrows(IllegalArgumentException.class,
        () -> VoxgateClient.builder("127.0.0.1:1").tlsCa(notPem).build());
    assertThrows(IllegalArgumentException.class,
        () -> VoxgateClient.builder("127.0.0.1:1").tlsClientCertificate(notPem, notPem).build());
    assertThrows(IllegalArgumentException.class, () -> VoxgateClient.builder("127.0.0.1:1").token("two words"));
    assertEquals("BearerToken[***]", new BearerToken("secret").toString());
  }

  private static List<Integer> ints(JsonArray a) {
    List<Integer> out = new ArrayList<>();
    for (JsonElement e : a) {
      out.add(e.getAsInt());
    }
    return out;
  }
}

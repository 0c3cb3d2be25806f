package dev.voxgate.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.voxgate.VoxgateException;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example commands' TLS and token settings, from the environment and from flags; live, the
 * example's info command against the TLS test server of clients/java/test.sh
 * ($VOXGATE_TEST_TLS_ADDR, $VOXGATE_TEST_TLS_DIR; see dev.voxgate.TlsTest).
 */
class ConnectionOptionsTest {
  @Test
  void plaintextAndNoTokenByDefault() throws Exception {
    ConnectionOptions c = new ConnectionOptions(Map.of());
    assertEquals("127.0.0.1:50051", c.addr);
    assertFalse(c.usesTls());
    assertNull(c.token());
  }

  @Test
  void theEnvironmentSetsTlsAndTheTokenAndFlagsWin(@TempDir Path tmp) throws Exception {
    Map<String, String> env = Map.of(
        "VOXGATE_ADDR", "voxgate:443", "VOXGATE_TLS_CA", "ca.pem", "VOXGATE_TLS_CERT", "c.pem",
        "VOXGATE_TLS_KEY", "c.key", "VOXGATE_TOKEN", "from-env");
    ConnectionOptions c = new ConnectionOptions(env);
    assertTrue(c.usesTls());
    assertEquals("ca.pem", c.ca);
    assertEquals("c.pem", c.cert);
    assertEquals("c.key", c.key);
    assertEquals("from-env", c.token());
    Path file = tmp.resolve("token");
    Files.writeString(file, "from-file\n");
    String[] argv = {"--addr", "other:1", "--tls-ca", "mine.pem", "--token-file", file.toString(), "info"};
    int i = 0;
    for (; i < argv.length; i++) {
      int last = c.parse(argv, i);
      if (last < 0) {
        break;
      }
      i = last;
    }
    assertEquals(6, i); // stopped at "info"
    assertEquals("other:1", c.addr);
    assertEquals("mine.pem", c.ca);
    assertEquals("from-file", c.token());
    assertTrue(new ConnectionOptions(Map.of("VOXGATE_TLS", "1")).usesTls());
    ConnectionOptions flag = new ConnectionOptions(Map.of());
    assertEquals(0, flag.parse(new String[] {"--tls"}, 0));
    assertTrue(flag.usesTls());
    ConnectionOptions half = new ConnectionOptions(Map.of("VOXGATE_TLS_CERT", "c.pem"));
    assertThrows(IllegalArgumentException.class, half::builder);
  }

  @Test
  void theExampleCallsOverMutualTlsWithAToken() throws Exception {
    String addr = System.getenv("VOXGATE_TEST_TLS_ADDR");
    String dir = System.getenv("VOXGATE_TEST_TLS_DIR");
    assumeTrue(addr != null && !addr.isBlank() && dir != null && !dir.isBlank(),
        "VOXGATE_TEST_TLS_ADDR / VOXGATE_TEST_TLS_DIR are not set (clients/java/test.sh sets them)");
    Path d = Path.of(dir);
    Map<String, String> env = new HashMap<>();
    env.put("VOXGATE_TLS_CA", d.resolve("ca.pem").toString());
    env.put("VOXGATE_TLS_CERT", d.resolve("client.pem").toString());
    env.put("VOXGATE_TLS_KEY", d.resolve("client.key").toString());
    Map<String, String> withToken = new HashMap<>(env);
    withToken.put("VOXGATE_TOKEN", Files.readString(d.resolve("token")).strip());

    PrintStream stdout = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    try {
      assertEquals(0, VoxgateExample.run(new String[] {"--addr", addr, "info"}, withToken));
    } finally {
      System.setOut(stdout);
    }
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("vocabulary_size: 5120"), out.toString(StandardCharsets.UTF_8));

    VoxgateException e = assertThrows(VoxgateException.class,
        () -> VoxgateExample.run(new String[] {"--addr", addr, "info"}, env));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getCode());
    String[] flags = {
      "--addr", addr, "--tls-ca", d.resolve("ca.pem").toString(), "--tls-cert", d.resolve("client.pem").toString(),
      "--tls-key", d.resolve("client.key").toString(), "--token-file", d.resolve("kiosk.token").toString(), "info"
    };
    e = assertThrows(VoxgateException.class, () -> VoxgateExample.run(flags, Map.of()));
    assertEquals(Status.Code.PERMISSION_DENIED, e.getCode());
  }
}

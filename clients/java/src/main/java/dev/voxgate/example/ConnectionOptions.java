package dev.voxgate.example;

import dev.voxgate.VoxgateClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * The connection flags the example commands share: the address, TLS (mutual TLS with a client
 * certificate) and a bearer token, from flags or, as the Python CLI {@code voxgate} reads them,
 * the environment: $VOXGATE_ADDR, $VOXGATE_TLS=1, $VOXGATE_TLS_CA, $VOXGATE_TLS_CERT,
 * $VOXGATE_TLS_KEY and $VOXGATE_TOKEN. Flags win.
 *
 * <pre>
 *   --addr HOST:PORT          the server (default $VOXGATE_ADDR, else 127.0.0.1:50051)
 *   --tls                     TLS, trusting the system's CAs (on by itself with the flags below)
 *   --tls-ca CA.pem           the CA to trust
 *   --tls-cert C.pem --tls-key C.key   a client certificate (mutual TLS)
 *   --tls-server-name NAME    the name the server's certificate must carry
 *   --token-file FILE         a bearer token (default $VOXGATE_TOKEN)
 * </pre>
 */
final class ConnectionOptions {
  /** The flags of this class that take a value. */
  static final Set<String> FLAGS_WITH_VALUE =
      Set.of("--addr", "--tls-ca", "--tls-cert", "--tls-key", "--tls-server-name", "--token-file");

  static final String USAGE =
      String.join(
          "\n",
          "connection: --addr HOST:PORT (default $VOXGATE_ADDR, else 127.0.0.1:50051)",
          "  --tls (the system's CAs; $VOXGATE_TLS=1), --tls-ca CA.pem ($VOXGATE_TLS_CA),",
          "  --tls-cert C.pem --tls-key C.key for mutual TLS ($VOXGATE_TLS_CERT, $VOXGATE_TLS_KEY),",
          "  --tls-server-name NAME, --token-file FILE (a bearer token; default $VOXGATE_TOKEN;",
          "  send tokens over TLS only)");

  String addr;
  boolean tls;
  String ca;
  String cert;
  String key;
  String serverName;
  String tokenFile;
  private final String envToken;

  /** Defaults from {@code env} (the process environment, or a map in tests). */
  ConnectionOptions(Map<String, String> env) {
    addr = nonEmpty(env.get("VOXGATE_ADDR"), "127.0.0.1:50051");
    tls = "1".equals(env.get("VOXGATE_TLS"));
    ca = nonEmpty(env.get("VOXGATE_TLS_CA"), null);
    cert = nonEmpty(env.get("VOXGATE_TLS_CERT"), null);
    key = nonEmpty(env.get("VOXGATE_TLS_KEY"), null);
    envToken = nonEmpty(env.get("VOXGATE_TOKEN"), null);
  }

  /**
   * Takes {@code argv[i]} when it is one of the connection flags.
   *
   * @return the index of the flag's last word, or -1 when {@code argv[i]} is not one of them
   */
  int parse(String[] argv, int i) {
    String flag = argv[i];
    if (flag.equals("--tls")) {
      tls = true;
      return i;
    }
    if (!FLAGS_WITH_VALUE.contains(flag)) {
      return -1;
    }
    if (i + 1 >= argv.length) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    String value = argv[i + 1];
    switch (flag) {
      case "--addr":
        addr = value;
        break;
      case "--tls-ca":
        ca = value;
        break;
      case "--tls-cert":
        cert = value;
        break;
      case "--tls-key":
        key = value;
        break;
      case "--tls-server-name":
        serverName = value;
        break;
      default:
        tokenFile = value;
    }
    return i + 1;
  }

  /** The bearer token: the first line of --token-file, else $VOXGATE_TOKEN; null for none. */
  String token() throws IOException {
    if (tokenFile == null) {
      return envToken == null ? null : envToken.trim();
    }
    String text = Files.readString(Path.of(tokenFile), StandardCharsets.UTF_8).strip();
    String token = text.lines().findFirst().orElse("").strip();
    if (token.isEmpty()) {
      throw new IOException("--token-file " + tokenFile + ": no token in it");
    }
    return token;
  }

  /** Whether the connection is TLS. */
  boolean usesTls() {
    return tls || ca != null || cert != null || key != null || serverName != null;
  }

  /** A client builder for the address, with the TLS settings and the token. */
  VoxgateClient.Builder builder() throws IOException {
    VoxgateClient.Builder b = VoxgateClient.builder(addr);
    if (usesTls()) {
      b.tls();
      if (ca != null) {
        b.tlsCa(Path.of(ca));
      }
      if ((cert == null) != (key == null)) {
        throw new IllegalArgumentException("--tls-cert and --tls-key go together");
      }
      if (cert != null) {
        b.tlsClientCertificate(Path.of(cert), Path.of(key));
      }
      if (serverName != null) {
        b.tlsServerName(serverName);
      }
    }
    return b.token(token());
  }

  private static String nonEmpty(String value, String otherwise) {
    return value == null || value.isEmpty() ? otherwise : value;
  }
}

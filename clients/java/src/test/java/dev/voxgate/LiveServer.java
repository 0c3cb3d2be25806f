package dev.voxgate;

import java.nio.file.Path;

/**
 * The voxgate server the tests talk to: the one at $VOXGATE_ADDR (host:port). The tests do not
 * start a server themselves; {@code clients/java/test.sh} runs Maven under {@code
 * <repo>/.venv/bin/voxgate with-server -- ...}, which starts a fresh voxgate on a free port, sets
 * VOXGATE_ADDR, and stops it when the tests end.
 */
final class LiveServer {
  static final String NO_SERVER =
      "VOXGATE_ADDR is not set: run the tests against a voxgate with clients/java/test.sh, or"
          + " `<repo>/.venv/bin/voxgate with-server -- mvn test`, or set VOXGATE_ADDR=host:port"
          + " of a running server";

  private final String address;

  private LiveServer(String address) {
    this.address = address;
  }

  /** The repository root: -Dvoxgate.repo (set by the pom), else two levels above the cwd. */
  static Path repoRoot() {
    String prop = System.getProperty("voxgate.repo");
    Path root = prop != null ? Path.of(prop) : Path.of("../..");
    return root.toAbsolutePath().normalize();
  }

  /**
   * The server named by $VOXGATE_ADDR.
   *
   * @throws IllegalStateException when VOXGATE_ADDR is unset, saying how to run the tests
   */
  static LiveServer fromEnvironment() {
    String env = System.getenv("VOXGATE_ADDR");
    if (env == null || env.isBlank()) {
      throw new IllegalStateException(NO_SERVER);
    }
    return new LiveServer(env.trim());
  }

  String address() {
    return address;
  }
}

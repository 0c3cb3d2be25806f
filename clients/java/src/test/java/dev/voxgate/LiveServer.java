package dev.voxgate;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The voxgate server the tests talk to: $VOXGATE_ADDR when set, else one started from
 * $VOXGATE_BIN (default {@code <repo>/.venv/bin/voxgate}) with {@code serve --port 0
 * --ready-file F}, stopped with SIGTERM.
 */
final class LiveServer implements AutoCloseable {
  /** How long a started server may take to become healthy (it starts an embedded Triton). */
  private static final Duration START_TIMEOUT = Duration.ofSeconds(180);

  private final String address;
  private final Process process;
  private final Path log;

  private LiveServer(String address, Process process, Path log) {
    this.address = address;
    this.process = process;
    this.log = log;
  }

  /** The repository root: -Dvoxgate.repo (set by the pom), else two levels above the cwd. */
  static Path repoRoot() {
    String prop = System.getProperty("voxgate.repo");
    Path root = prop != null ? Path.of(prop) : Path.of("../..");
    return root.toAbsolutePath().normalize();
  }

  static LiveServer start() throws IOException, InterruptedException {
    String env = System.getenv("VOXGATE_ADDR");
    if (env != null && !env.isBlank()) {
      return new LiveServer(env.trim(), null, null);
    }
    Path root = repoRoot();
    String binEnv = System.getenv("VOXGATE_BIN");
    Path bin = binEnv != null && !binEnv.isBlank()
        ? Path.of(binEnv)
        : root.resolve(".venv/bin/voxgate");
    if (!Files.isExecutable(bin)) {
      throw new IllegalStateException(
          "no voxgate server: set VOXGATE_ADDR, or install " + bin + " (or set VOXGATE_BIN)");
    }
    Path dir = Files.createDirectories(Path.of("target"));
    Path ready = dir.resolve("voxgate-ready.json").toAbsolutePath();
    Path log = dir.resolve("voxgate-server.log").toAbsolutePath();
    Files.deleteIfExists(ready);
    Process p = new ProcessBuilder(
            List.of(bin.toString(), "serve", "--port", "0", "--ready-file", ready.toString()))
        .directory(root.toFile())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    Instant until = Instant.now().plus(START_TIMEOUT);
    try {
      while (Instant.now().isBefore(until)) {
        if (!p.isAlive()) {
          throw new IllegalStateException(
              "voxgate exited with " + p.exitValue() + " before it was ready:\n" + tail(log));
        }
        String address = readAddress(ready);
        if (address != null) {
          return new LiveServer(address, p, log);
        }
        Thread.sleep(200);
      }
      throw new IllegalStateException(
          "voxgate not ready after " + START_TIMEOUT.toSeconds() + " s:\n" + tail(log));
    } catch (RuntimeException | InterruptedException e) {
      stop(p);
      throw e;
    }
  }

  private static String readAddress(Path ready) {
    try {
      if (!Files.exists(ready)) {
        return null;
      }
      JsonObject o = JsonParser.parseString(Files.readString(ready)).getAsJsonObject();
      return o.has("address") ? o.get("address").getAsString() : null;
    } catch (IOException | RuntimeException e) {
      return null; // not completely written yet
    }
  }

  String address() {
    return address;
  }

  /** The last lines of the server's log (empty for an external server). */
  String logTail() {
    return log == null ? "" : tail(log);
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private static void stop(Process p) throws InterruptedException {
    if (p == null || !p.isAlive()) {
      return;
    }
    List<ProcessHandle> children = p.descendants().collect(Collectors.toList());
    p.destroy(); // SIGTERM; the server stops its embedded Triton itself
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    for (ProcessHandle child : children) { // only if the server failed to stop them
      try {
        child.onExit().get(5, TimeUnit.SECONDS);
      } catch (Exception e) {
        child.destroyForcibly();
      }
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop(process);
  }
}

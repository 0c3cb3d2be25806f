package dev.voxgate.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The example CLI's synthesize command writes a WAV file (live server at $VOXGATE_ADDR). */
class VoxgateExampleTest {
  @Test
  void synthesizeWritesAWav(@TempDir Path dir) throws Exception {
    String addr = System.getenv("VOXGATE_ADDR");
    assertTrue(addr != null && !addr.isBlank(), "VOXGATE_ADDR is not set (run clients/java/test.sh)");
    for (String mode : new String[] {"", "--stream"}) {
      Path out = dir.resolve("out" + mode + ".wav");
      String[] args = mode.isEmpty()
          ? new String[] {"--addr", addr, "synthesize", "Hello there, this is voxgate.", out.toString()}
          : new String[] {"--addr", addr, "synthesize", "Hello there, this is voxgate.", out.toString(), mode};
      assertEquals(0, VoxgateExample.run(args), "exit status " + mode);
      byte[] wav = Files.readAllBytes(out);
      assertTrue(wav.length > 44, "WAV of " + wav.length + " bytes");
      assertEquals("RIFF", new String(wav, 0, 4, StandardCharsets.US_ASCII));
      assertEquals("WAVE", new String(wav, 8, 4, StandardCharsets.US_ASCII));
    }
  }
}

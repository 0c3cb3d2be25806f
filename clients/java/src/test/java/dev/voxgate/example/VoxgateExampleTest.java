package dev.voxgate.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.voxgate.VoxgateClient;
import dev.voxgate.v1.AudioContainer;
import dev.voxgate.v1.OutputAudioFormat;
import dev.voxgate.v1.SynthesizeRequest;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example CLI's synthesize command writes a WAV file, and its chat command (ChatExample)
 * writes the spoken reply to a spoken or typed turn (live server at $VOXGATE_ADDR).
 */
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

  @Test
  void chatWritesTheReplyAsAWav(@TempDir Path dir) throws Exception {
    String addr = System.getenv("VOXGATE_ADDR");
    assertTrue(addr != null && !addr.isBlank(), "VOXGATE_ADDR is not set (run clients/java/test.sh)");
    // The question, spoken by the server's reference voice.
    Path question = dir.resolve("question.wav");
    try (VoxgateClient client = VoxgateClient.connect(addr)) {
      SynthesizeRequest request =
          SynthesizeRequest.newBuilder()
              .setText("What is the capital of France?")
              .setOutputFormat(OutputAudioFormat.newBuilder().setContainer(AudioContainer.AUDIO_CONTAINER_WAV))
              .build();
      Files.write(question, client.synthesize(request).collect().getAudio());
    }
    String[][] turns = {{"--audio", question.toString()}, {"--text", "Say hello."}};
    for (String[] turn : turns) {
      Path out = dir.resolve("reply" + turn[0] + ".wav");
      String[] args = {
        "--addr", addr, "--timeout", "60", "--max-tokens", "24", "--temperature", "0",
        "--out", out.toString(), turn[0], turn[1]
      };
      // Through VoxgateExample's "chat" command, as example.sh runs it.
      String[] viaMain = new String[args.length + 1];
      viaMain[0] = "chat";
      System.arraycopy(args, 0, viaMain, 1, args.length);
      ByteArrayOutputStream printed = new ByteArrayOutputStream();
      PrintStream stdout = System.out;
      int status;
      try {
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        status = VoxgateExample.run(viaMain);
      } finally {
        System.setOut(stdout);
      }
      String text = printed.toString(StandardCharsets.UTF_8);
      System.out.print(text);
      assertEquals(0, status, "exit status " + turn[0]);
      String[] lines = text.strip().split("\n");
      assertEquals(2, lines.length, text);
      assertTrue(lines[0].startsWith("user: "), text);
      assertTrue(lines[1].startsWith("assistant: ") && lines[1].length() > "assistant: ".length(), text);
      if (turn[0].equals("--audio")) {
        String heard = lines[0].toLowerCase(Locale.ROOT);
        assertTrue(heard.contains("capital") || heard.contains("france"), text);
      }
      byte[] wav = Files.readAllBytes(out);
      assertTrue(wav.length > 44, "WAV of " + wav.length + " bytes");
      assertEquals("RIFF", new String(wav, 0, 4, StandardCharsets.US_ASCII));
      assertEquals("WAVE", new String(wav, 8, 4, StandardCharsets.US_ASCII));
    }
  }
}

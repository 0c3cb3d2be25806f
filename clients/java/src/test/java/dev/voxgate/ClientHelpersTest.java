package dev.voxgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.voxgate.v1.AudioContainer;
import dev.voxgate.v1.AudioOutput;
import dev.voxgate.v1.OutputAudioFormat;
import dev.voxgate.v1.SynthesisReport;
import dev.voxgate.v1.SynthesizeResponse;
import dev.voxgate.v1.AudioTokens;
import dev.voxgate.v1.StreamTokenizeResponse;
import io.grpc.Status;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Offline checks of the client's helpers (no server needed). */
class ClientHelpersTest {
  @Test
  void detectsContainersFromMagicBytes() {
    assertEquals(AudioContainer.AUDIO_CONTAINER_WAV, VoxgateClient.detectContainer(ascii("RIFF\0\0\0\0WAVE")));
    assertEquals(AudioContainer.AUDIO_CONTAINER_FLAC, VoxgateClient.detectContainer(ascii("fLaC")));
    assertEquals(AudioContainer.AUDIO_CONTAINER_OGG, VoxgateClient.detectContainer(ascii("OggS")));
    assertEquals(AudioContainer.AUDIO_CONTAINER_MP3, VoxgateClient.detectContainer(ascii("ID3")));
    assertEquals(AudioContainer.AUDIO_CONTAINER_MP3, VoxgateClient.detectContainer(new byte[] {(byte) 0xff, (byte) 0xfb}));
    assertEquals(AudioContainer.AUDIO_CONTAINER_UNSPECIFIED, VoxgateClient.detectContainer(ascii("xy")));
  }

  @Test
  void concatenatesStreamTokens() {
    StreamTokenizeResponse a = StreamTokenizeResponse.newBuilder()
        .setTokens(AudioTokens.newBuilder().addLinguistic(1).addLinguistic(2)
            .addSemantic(3).addSemantic(4).addSemantic(5)
            .addInterleaved(1).addInterleaved(2).addInterleaved(1027).addInterleaved(1028).addInterleaved(1029)
            .setText("<audio_1>").setGroupCount(1))
        .build();
    StreamTokenizeResponse last = StreamTokenizeResponse.newBuilder()
        .setGroupOffset(1).setFinal(true).build();
    AudioTokens all = VoxgateClient.concat(List.of(a, last, a));
    assertEquals(List.of(1, 2, 1, 2), all.getLinguisticList());
    assertEquals(10, all.getInterleavedCount());
    assertEquals("<audio_1><audio_1>", all.getText());
    assertEquals(2, all.getGroupCount());
  }

  @Test
  void combinesSynthesisPieces() {
    AudioOutput raw = AudioOutput.newBuilder()
        .setFormat(OutputAudioFormat.newBuilder().setContainer(AudioContainer.AUDIO_CONTAINER_RAW).setSampleRateHz(16000))
        .setData(ByteString.copyFromUtf8("ab"))
        .build();
    SynthesizeResponse first = SynthesizeResponse.newBuilder()
        .setRequestId("r1").setAudio(raw).addAllAudioTokens(List.of(1, 2, 1030, 1031, 1032))
        .setReport(SynthesisReport.newBuilder().setVoice("joe"))
        .build();
    SynthesizeResponse last = SynthesizeResponse.newBuilder()
        .setRequestId("r1").setFinal(true).setStartSeconds(0.12)
        .setAudio(raw.toBuilder().setData(ByteString.copyFromUtf8("cd")))
        .build();
    SynthesisResult r = SynthesisResult.of(List.of(first, last));
    assertEquals(List.of(1, 2, 1030, 1031, 1032), r.getTokens());
    assertEquals(1, r.getGroupCount());
    assertEquals("joe", r.getReport().getVoice());
    assertEquals("abcd", new String(r.getAudio(), StandardCharsets.US_ASCII));
    assertEquals(0.12, r.getDurationSeconds());
    assertEquals("r1", r.getRequestId());
    assertTrue(r.isComplete());

    // A container arrives whole in the final message.
    AudioOutput wav = AudioOutput.newBuilder()
        .setFormat(OutputAudioFormat.newBuilder().setContainer(AudioContainer.AUDIO_CONTAINER_WAV))
        .setData(ByteString.copyFromUtf8("RIFF"))
        .build();
    SynthesisResult w = SynthesisResult.of(List.of(
        first.toBuilder().setAudio(wav.toBuilder().clearData()).build(),
        last.toBuilder().setAudio(wav).build()));
    assertEquals("RIFF", new String(w.getAudio(), StandardCharsets.US_ASCII));
    assertEquals(AudioContainer.AUDIO_CONTAINER_WAV, w.getFormat().getContainer());
  }

  @Test
  void exceptionCarriesTheStatusCode() {
    VoxgateException e = VoxgateException.from(
        Status.OUT_OF_RANGE.withDescription("too long").asRuntimeException());
    assertEquals(Status.Code.OUT_OF_RANGE, e.getCode());
    assertEquals("OUT_OF_RANGE", e.getCodeName());
    assertEquals("too long", e.getStatusMessage());
    assertEquals("OUT_OF_RANGE: too long", e.getMessage());
    assertEquals(Status.Code.UNKNOWN, VoxgateException.from(new IllegalStateException()).getCode());
  }

  @Test
  void unreachableServerIsUnavailableWithoutWaitForReady() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    try (VoxgateClient c =
        VoxgateClient.builder("127.0.0.1:1").timeout(Duration.ofSeconds(20)).waitForReady(false).build()) {
      long start = System.nanoTime();
      VoxgateException e = assertThrows(VoxgateException.class, c::getServerInfo);
      assertEquals(Status.Code.UNAVAILABLE, e.getCode(), e.toString());
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertTrue(took.compareTo(Duration.ofSeconds(10)) < 0, "UNAVAILABLE took " + took + ", as if waiting for the server");
    }
  }

  @Test
  void unreachableServerWaitsForReadyUntilTheDeadline() {
    // The published service config (the default) has wait-for-ready: the call waits for a
    // connection until its deadline instead of failing with UNAVAILABLE.
    try (VoxgateClient c = VoxgateClient.builder("127.0.0.1:1").timeout(Duration.ofMillis(1500)).build()) {
      long start = System.nanoTime();
      VoxgateException e = assertThrows(VoxgateException.class, c::getServerInfo);
      assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getCode(), e.toString());
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertTrue(took.compareTo(Duration.ofSeconds(1)) >= 0, "the call ended after " + took + ", before its deadline");
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void serviceConfigIsThePublishedOne() throws Exception {
    Path published = LiveServer.repoRoot().resolve("service/voxgate/service_config.json");
    String resource;
    try (InputStream in = VoxgateClient.class.getResourceAsStream("/dev/voxgate/service_config.json")) {
      assertNotNull(in, "resource dev/voxgate/service_config.json");
      resource = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertEquals(Files.readString(published), resource,
        "src/main/resources/dev/voxgate/service_config.json is stale: run clients/java/generate.sh");
    for (boolean wait : new boolean[] {true, false}) {
      List<Map<String, ?>> methods = (List<Map<String, ?>>) VoxgateClient.serviceConfig(wait).get("methodConfig");
      assertEquals(2, methods.size());
      for (Map<String, ?> m : methods) {
        assertEquals(wait, m.get("waitForReady"), m.toString());
      }
      Map<String, ?> retry = (Map<String, ?>) methods.get(0).get("retryPolicy");
      assertEquals(4.0, retry.get("maxAttempts"));
      assertEquals(List.of("UNAVAILABLE"), retry.get("retryableStatusCodes"));
    }
  }

  @Test
  void rejectsBadSettings() {
    assertThrows(IllegalArgumentException.class, () -> VoxgateClient.builder("127.0.0.1:1").timeout(Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> VoxgateClient.builder(" "));
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

}

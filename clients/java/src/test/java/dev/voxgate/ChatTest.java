package dev.voxgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.voxgate.v1.AudioContainer;
import dev.voxgate.v1.ChatConfig;
import dev.voxgate.v1.ChatResponse;
import dev.voxgate.v1.OutputAudioFormat;
import dev.voxgate.v1.StreamAudioFormat;
import dev.voxgate.v1.SynthesizeRequest;
import dev.voxgate.v1.TurnDetection;
import dev.voxgate.v1.TurnDetectionMode;
import dev.voxgate.v1.TurnEnd;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * ChatService against a live voxgate: a text turn, a spoken turn (speech made by the server's own
 * Synthesize), a text-only conversation and an error. The server runs a small language model on
 * CPU, so replies are short (24 tokens, greedy) and each conversation has a 60 s deadline.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChatTest {
  static final String QUESTION = "What is the capital of France?";

  private VoxgateClient client;

  @BeforeAll
  void setUp() {
    client =
        VoxgateClient.builder(LiveServer.fromEnvironment().address())
            .timeout(Duration.ofSeconds(60))
            .streamTimeout(Duration.ofSeconds(60))
            .build();
  }

  @AfterAll
  void tearDown() {
    if (client != null) {
      client.close();
    }
  }

  /** Short greedy replies in MANUAL turn detection, WAV audio. */
  static ChatConfig.Builder config() {
    return ChatConfig.newBuilder()
        .setMaxReplyTokens(24)
        .setTemperature(0f)
        .setTurnDetection(
            TurnDetection.newBuilder().setMode(TurnDetectionMode.TURN_DETECTION_MODE_MANUAL))
        .setOutputFormat(
            OutputAudioFormat.newBuilder().setContainer(AudioContainer.AUDIO_CONTAINER_WAV));
  }

  /** The question spoken by the server's reference voice, as a WAV file. */
  static byte[] spokenQuestion(VoxgateClient client) {
    SynthesizeRequest request =
        SynthesizeRequest.newBuilder()
            .setText(QUESTION)
            .setOutputFormat(
                OutputAudioFormat.newBuilder().setContainer(AudioContainer.AUDIO_CONTAINER_WAV))
            .build();
    byte[] wav = client.synthesize(request).collect().getAudio();
    assertTrue(wav.length > 44, "synthesized question of " + wav.length + " bytes");
    return wav;
  }

  /** The number of samples of a 16-bit PCM WAV file's data chunk; fails on anything else. */
  static int wavSamples(byte[] wav) {
    assertTrue(wav.length > 44, "WAV of " + wav.length + " bytes");
    assertEquals("RIFF", new String(wav, 0, 4, StandardCharsets.US_ASCII));
    assertEquals("WAVE", new String(wav, 8, 4, StandardCharsets.US_ASCII));
    ByteBuffer b = ByteBuffer.wrap(wav).order(ByteOrder.LITTLE_ENDIAN);
    int channels = 0;
    int bits = 0;
    for (int p = 12; p + 8 <= wav.length; ) {
      String id = new String(wav, p, 4, StandardCharsets.US_ASCII);
      int size = b.getInt(p + 4);
      if (id.equals("fmt ")) {
        channels = b.getShort(p + 10);
        assertTrue(b.getInt(p + 12) > 0, "sample rate");
        bits = b.getShort(p + 22);
      } else if (id.equals("data")) {
        assertEquals(16, bits, "bits per sample");
        assertTrue(size <= wav.length - p - 8, "data chunk longer than the file");
        return size / (channels * 2);
      }
      p += 8 + size + (size % 2);
    }
    throw new AssertionError("no data chunk");
  }

  @Test
  void textTurn() {
    try (ChatSession chat = client.chat(config().build())) {
      ChatReply r = chat.turn("Say hello in five words.");
      List<ChatResponse> msgs = r.getResponses();
      StringBuilder deltas = new StringBuilder();
      for (int i = 0; i < msgs.size(); i++) {
        ChatResponse m = msgs.get(i);
        assertEquals(0, m.getTurnIndex(), "turn_index of message " + i);
        assertEquals(msgs.get(0).getRequestId(), m.getRequestId());
        assertEquals(i == msgs.size() - 1, m.hasTurnEnd(), "TurnEnd only last, message " + i);
        deltas.append(m.getTextDelta());
      }
      assertFalse(msgs.get(0).getRequestId().isEmpty(), "request id");
      TurnEnd end = r.getTurnEnd();
      assertFalse(end.getText().isBlank(), "empty reply");
      assertEquals(end.getText(), deltas.toString(), "text deltas vs TurnEnd.text");
      assertEquals(end.getText(), r.getText());
      assertEquals(0, r.getTurnIndex());
      assertFalse(end.getInterrupted());
      assertEquals(end.getText(), end.getHeardText());
      assertTrue(end.getReplyTokens() > 0 && end.getReplyTokens() <= 24, "reply tokens " + end.getReplyTokens());
      assertTrue(wavSamples(r.getAudio()) > 0, "reply audio samples");
      assertTrue(r.getFormat().getSampleRateHz() > 0, "format " + r.getFormat());
      assertTrue(end.getAudioSeconds() > 0, "audio_seconds " + end.getAudioSeconds());
      assertTrue(!r.getAudioTokens().isEmpty() && r.getAudioTokens().size() % 5 == 0, "audio tokens");
      assertTrue(chat.finish().isEmpty(), "messages after the TurnEnd");
    }
  }

  @Test
  void spokenTurn() throws Exception {
    byte[] question = spokenQuestion(client);
    ChatConfig config =
        config()
            .setInputFormat(
                StreamAudioFormat.newBuilder().setContainer(AudioContainer.AUDIO_CONTAINER_WAV))
            .setTextOnly(true) // the reply's speech is covered by the other tests
            .build();
    try (ChatSession chat = client.chat(config)) {
      ChatReply r = chat.turn(new ByteArrayInputStream(question), ChatSession.DEFAULT_CHUNK_BYTES);
      List<String> finals = new ArrayList<>();
      for (ChatResponse m : r.getResponses()) {
        if (m.hasTranscript() && m.getTranscript().getIsFinal()) {
          finals.add(m.getTranscript().getText());
        }
      }
      assertEquals(1, finals.size(), "final transcripts " + finals);
      String heard = r.getTranscript().toLowerCase(Locale.ROOT);
      assertTrue(heard.contains("capital") || heard.contains("france"), "final transcript: " + r.getTranscript());
      assertFalse(r.getTurnEnd().getUserTranscript().isBlank(), "user_transcript");
      assertFalse(r.getTurnEnd().getText().isBlank(), "reply text");
      assertEquals(0, r.getTurnIndex());
      chat.finish();
    }
  }

  @Test
  void textOnly() {
    try (ChatSession chat = client.chat(config().setTextOnly(true).build())) {
      for (int turn = 0; turn < 2; turn++) {
        chat.sendText("Name a ");
        chat.sendText("color.");
        chat.endTurn();
        ChatReply r = chat.awaitReply();
        for (ChatResponse m : r.getResponses()) {
          assertFalse(m.hasAudio() || m.getAudioTokensCount() > 0, "audio in text-only mode: " + m);
          assertEquals(turn, m.getTurnIndex());
        }
        assertEquals(0, r.getAudioMessageCount());
        assertFalse(r.getText().isEmpty());
        assertEquals(r.getTurnEnd().getText(), r.getText());
        assertEquals(0.0, r.getTurnEnd().getAudioSeconds());
        assertTrue(r.getTurnEnd().getUserTranscript().contains("color"), r.getTurnEnd().getUserTranscript());
      }
      chat.finish();
    }
  }

  @Test
  void audioWithoutInputFormatIsInvalidArgument() {
    try (ChatSession chat = client.chat(config().build())) {
      VoxgateException e =
          assertThrows(
              VoxgateException.class,
              () -> chat.turn(new ByteArrayInputStream(ChatSessionTest.wav(16000, 16000)), 8192));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getCode(), e.toString());
      assertEquals("INVALID_ARGUMENT", e.getCodeName());
      assertEquals(Status.Code.INVALID_ARGUMENT, chat.getFailure().getCode());
    }
  }
}

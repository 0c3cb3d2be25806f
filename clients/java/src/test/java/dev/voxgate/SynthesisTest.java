package dev.voxgate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.voxgate.v1.AudioContainer;
import dev.voxgate.v1.OutputAudioFormat;
import dev.voxgate.v1.PcmEncoding;
import dev.voxgate.v1.SynthesizeRequest;
import dev.voxgate.v1.SynthesizeResponse;
import dev.voxgate.v1.Voice;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The "synthesize" cases of conformance/manifest.json against a live voxgate: Synthesize (blocking
 * iterator, StreamObserver, to a file), StreamSynthesize of the cases' text pieces, and the voice
 * registry calls.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SynthesisTest {
  private VoxgateClient client;
  private Path conformance;
  private JsonArray cases;

  @BeforeAll
  void setUp() throws Exception {
    conformance = LiveServer.repoRoot().resolve("conformance");
    JsonObject manifest =
        JsonParser.parseString(Files.readString(conformance.resolve("manifest.json"))).getAsJsonObject();
    assertTrue(manifest.has("synthesize"), "manifest has no synthesize section");
    cases = manifest.getAsJsonArray("synthesize");
    assertFalse(cases.isEmpty(), "no synthesize cases");
    client =
        VoxgateClient.builder(LiveServer.fromEnvironment().address())
            .timeout(Duration.ofSeconds(60))
            .streamTimeout(Duration.ofSeconds(120))
            .build();
  }

  @AfterAll
  void tearDown() {
    if (client != null) {
      client.close();
    }
  }

  private static SynthesizeRequest request(JsonObject c, boolean withText) {
    SynthesizeRequest.Builder b =
        SynthesizeRequest.newBuilder()
            .setOutputFormat(OutputAudioFormat.newBuilder().setContainer(AudioContainer.AUDIO_CONTAINER_WAV));
    if (withText) {
      b.setText(c.get("text").getAsString());
    }
    if (c.has("voice")) {
      b.setVoice(c.get("voice").getAsString());
    }
    if (c.has("style_instruction")) {
      b.setStyleInstruction(c.get("style_instruction").getAsString());
    }
    return b.build();
  }

  /** Tokens, group count, final last (and only there), the report and the final WAV. */
  private static void check(JsonObject c, SynthesisResult r, String label) {
    List<SynthesizeResponse> msgs = r.getResponses();
    assertFalse(msgs.isEmpty(), label + ": no messages");
    assertEquals(ints(c.getAsJsonArray("interleaved")), r.getTokens(), label + ": tokens");
    assertEquals(c.get("group_count").getAsInt(), r.getGroupCount(), label + ": group_count");
    assertTrue(r.isComplete(), label + ": last message not final");
    for (int i = 0; i < msgs.size(); i++) {
      SynthesizeResponse m = msgs.get(i);
      if (i < msgs.size() - 1) {
        assertFalse(m.getFinal(), label + ": final before the last message");
      }
      assertEquals(0, m.getAudioTokensCount() % 5, label + ": message " + i + " has partial groups");
      assertEquals(r.getRequestId(), m.getRequestId(), label + ": request id of message " + i);
      if (i > 0) {
        assertFalse(m.hasReport(), label + ": report in message " + i);
      }
    }
    assertTrue(msgs.get(0).hasReport(), label + ": no report in the first message");
    if (c.has("voice")) {
      assertEquals(c.get("voice").getAsString(), r.getReport().getVoice(), label + ": report voice");
    }
    // StreamSynthesize's report covers only the text spoken when it was sent.
    if (c.has("normalized_text") && label.startsWith("Synthesize")) {
      assertEquals(c.get("normalized_text").getAsString(), r.getReport().getNormalizedText(), label + ": normalized text");
    }
    assertFalse(r.getRequestId().isEmpty(), label + ": request id");
    int rate = c.get("sample_rate_hz").getAsInt();
    ConformanceTest.Wav wav = ConformanceTest.Wav.parse(r.getAudio());
    assertEquals(rate, wav.sampleRate, label + ": WAV rate");
    assertEquals(rate, r.getFormat().getSampleRateHz(), label + ": format rate");
    assertEquals(16, wav.bitsPerSample, label + ": bits per sample");
    assertEquals(AudioContainer.AUDIO_CONTAINER_WAV, r.getFormat().getContainer(), label + ": container");
    if (c.has("num_samples")) {
      assertEquals(c.get("num_samples").getAsLong(), wav.numSamples, label + ": num_samples");
    }
    assertTrue(r.getDurationSeconds() > 0, label + ": duration");
  }

  @TestFactory
  Stream<DynamicTest> synthesize() {
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonElement e : cases) {
      JsonObject c = e.getAsJsonObject();
      String label = "Synthesize " + c.get("name").getAsString();
      tests.add(
          DynamicTest.dynamicTest(
              label,
              () -> {
                // The blocking iterator, piece by piece.
                List<SynthesizeResponse> pieces = new ArrayList<>();
                try (SynthesisStream stream = client.synthesize(request(c, true))) {
                  while (stream.hasNext()) {
                    pieces.add(stream.next());
                  }
                  assertFalse(stream.hasNext(), label + ": hasNext after the end");
                }
                check(c, SynthesisResult.of(pieces), label);
              }));
    }
    return tests.stream();
  }

  @TestFactory
  Stream<DynamicTest> streamSynthesize() {
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonElement e : cases) {
      JsonObject c = e.getAsJsonObject();
      if (!c.has("stream_pieces")) {
        continue;
      }
      String label = "StreamSynthesize " + c.get("name").getAsString();
      List<String> texts = new ArrayList<>();
      for (JsonElement p : c.getAsJsonArray("stream_pieces")) {
        texts.add(p.getAsString());
      }
      tests.add(
          DynamicTest.dynamicTest(
              label,
              () -> {
                assertEquals(c.get("text").getAsString(), String.join("", texts), label + ": pieces join to the text");
                check(c, client.streamSynthesize(request(c, false), texts).collect(), label);
              }));
      tests.add(
          DynamicTest.dynamicTest(
              label + " from a blocking queue",
              () -> {
                // Text produced on another thread, as an LLM would: the iterator blocks for it.
                LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>();
                String end = new String("end");
                Iterator<String> fromQueue =
                    new Iterator<>() {
                      private String next;

                      @Override
                      public boolean hasNext() {
                        if (next == null) {
                          try {
                            next = queue.take();
                          } catch (InterruptedException ex) {
                            throw new IllegalStateException(ex);
                          }
                        }
                        return next != end;
                      }

                      @Override
                      public String next() {
                        hasNext();
                        String s = next;
                        next = null;
                        return s;
                      }
                    };
                Thread producer =
                    new Thread(
                        () -> {
                          try {
                            for (String t : texts) {
                              Thread.sleep(20);
                              queue.add(t);
                            }
                          } catch (InterruptedException ex) {
                            Thread.currentThread().interrupt();
                          }
                          queue.add(end);
                        });
                producer.start();
                SynthesisResult r = client.streamSynthesize(request(c, false), fromQueue).collect();
                producer.join();
                assertEquals(ints(c.getAsJsonArray("interleaved")), r.getTokens(), label + ": tokens");
              }));
    }
    assertFalse(tests.isEmpty(), "no synthesize case has stream_pieces");
    return tests.stream();
  }

  @Test
  void synthesizeWithAStreamObserver() throws Exception {
    JsonObject c = cases.get(0).getAsJsonObject();
    List<SynthesizeResponse> pieces = new ArrayList<>();
    CompletableFuture<Void> done = new CompletableFuture<>();
    client.synthesize(
        request(c, true),
        new StreamObserver<>() {
          @Override
          public void onNext(SynthesizeResponse value) {
            synchronized (pieces) {
              pieces.add(value);
            }
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            done.complete(null);
          }
        });
    done.get(120, TimeUnit.SECONDS);
    synchronized (pieces) {
      check(c, SynthesisResult.of(pieces), "Synthesize with a StreamObserver");
    }
  }

  @Test
  void streamObserverGetsTheStatusCode() throws Exception {
    CompletableFuture<Throwable> failed = new CompletableFuture<>();
    client.synthesize(
        SynthesizeRequest.newBuilder().setText("Hello.").setVoice("no-such-voice").build(),
        new StreamObserver<>() {
          @Override
          public void onNext(SynthesizeResponse value) {}

          @Override
          public void onError(Throwable t) {
            failed.complete(t);
          }

          @Override
          public void onCompleted() {
            failed.complete(null);
          }
        });
    Throwable t = failed.get(60, TimeUnit.SECONDS);
    assertTrue(t instanceof VoxgateException, "onError got " + t);
    assertEquals(Status.Code.NOT_FOUND, ((VoxgateException) t).getCode());
  }

  @Test
  void synthesizeToFileWritesTheWav(@TempDir Path dir) throws Exception {
    JsonObject c = cases.get(0).getAsJsonObject();
    Path out = dir.resolve("out.wav");
    SynthesisResult r = client.synthesizeToFile(c.get("text").getAsString(), out);
    assertArrayEquals(r.getAudio(), Files.readAllBytes(out));
    if (!c.has("voice") && !c.has("style_instruction")) {
      check(c, r, "synthesizeToFile");
    }
  }

  @Test
  void rawPiecesAddUpToTheSamples() {
    JsonObject c = cases.get(0).getAsJsonObject();
    SynthesizeRequest raw =
        request(c, true).toBuilder()
            .setOutputFormat(
                OutputAudioFormat.newBuilder()
                    .setContainer(AudioContainer.AUDIO_CONTAINER_RAW)
                    .setEncoding(PcmEncoding.PCM_ENCODING_S16LE))
            .build();
    SynthesisResult r = client.synthesize(raw).collect();
    assertEquals(ints(c.getAsJsonArray("interleaved")), r.getTokens(), "tokens");
    if (c.has("num_samples")) {
      assertEquals(2 * c.get("num_samples").getAsLong(), r.getAudio().length, "bytes of S16LE PCM");
    }
  }

  @Test
  void oggPagesJoinIntoOneStream() {
    JsonObject c = cases.get(0).getAsJsonObject();
    SynthesizeRequest ogg =
        request(c, true).toBuilder()
            .setOutputFormat(
                OutputAudioFormat.newBuilder()
                    .setContainer(AudioContainer.AUDIO_CONTAINER_OGG)
                    .setSampleRateHz(16000))
            .build();
    SynthesisResult r = client.synthesize(ogg).collect();
    byte[] audio = r.getAudio();
    assertTrue(audio.length > 4, "Ogg stream of " + audio.length + " bytes");
    assertEquals("OggS", new String(audio, 0, 4, java.nio.charset.StandardCharsets.US_ASCII));
    assertEquals(AudioContainer.AUDIO_CONTAINER_OGG, r.getFormat().getContainer());
    assertEquals(ints(c.getAsJsonArray("interleaved")), r.getTokens(), "tokens");
  }

  @Test
  void closingEarlyCancelsTheCall() {
    JsonObject c = cases.get(0).getAsJsonObject();
    try (SynthesisStream stream = client.synthesize(request(c, true))) {
      assertTrue(stream.hasNext());
      stream.next();
    }
    // The channel still works.
    assertFalse(client.listVoices().isEmpty());
  }

  @Test
  void failingTextIteratorCancelsTheCall() {
    Iterator<String> broken =
        new Iterator<>() {
          @Override
          public boolean hasNext() {
            return true;
          }

          @Override
          public String next() {
            throw new IllegalStateException("no more text today");
          }
        };
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> client.streamSynthesize(SynthesizeRequest.getDefaultInstance(), broken).collect());
    assertEquals("no more text today", e.getMessage());
  }

  @Test
  void voiceRegistry() throws Exception {
    Voice builtin =
        client.listVoices().stream().filter(Voice::getBuiltin).findFirst().orElseThrow();
    VoxgateException e = assertThrows(VoxgateException.class, () -> client.deleteVoice(builtin.getId()));
    assertEquals(Status.Code.FAILED_PRECONDITION, e.getCode(), e.toString());

    // The conformance recording says "The quick brown fox jumps over the lazy dog."
    byte[] prompt = Files.readAllBytes(conformance.resolve("audio/speech_22k_mono.wav"));
    String name = "java-client-test-" + ProcessHandle.current().pid();
    Voice v =
        client.createVoice(
            name, prompt, "The quick brown fox jumps over the lazy dog.", "synthetic espeak-ng recording", false);
    try {
      assertFalse(v.getId().isEmpty(), "voice id");
      assertEquals(name, v.getName());
      assertFalse(v.getBuiltin());
      assertTrue(v.getPromptSeconds() > 0, "prompt seconds");
      assertTrue(client.listVoices().stream().anyMatch(x -> x.getId().equals(v.getId())), "listed");
      SynthesisResult r =
          client.synthesize(SynthesizeRequest.newBuilder().setText("Hello from a cloned voice.").setVoice(v.getId()).build())
              .collect();
      assertEquals(v.getId(), r.getReport().getVoice());
      assertTrue(r.getGroupCount() > 0, "groups");
    } finally {
      client.deleteVoice(v.getId());
    }
    VoxgateException gone = assertThrows(VoxgateException.class, () -> client.deleteVoice(v.getId()));
    assertEquals(Status.Code.NOT_FOUND, gone.getCode(), gone.toString());
  }

  private static List<Integer> ints(JsonArray a) {
    List<Integer> out = new ArrayList<>(a.size());
    for (JsonElement e : a) {
      out.add(e.getAsInt());
    }
    return out;
  }
}

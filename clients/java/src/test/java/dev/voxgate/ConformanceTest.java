package dev.voxgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.voxgate.v1.AudioContainer;
import dev.voxgate.v1.AudioTokens;
import dev.voxgate.v1.DetokenizeResponse;
import dev.voxgate.v1.GetServerInfoResponse;
import dev.voxgate.v1.PcmEncoding;
import dev.voxgate.v1.RawAudioFormat;
import dev.voxgate.v1.StreamAudioFormat;
import dev.voxgate.v1.StreamTokenizeResponse;
import dev.voxgate.v1.SynthesizeRequest;
import dev.voxgate.v1.TokenizeResponse;
import io.grpc.Status;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * Checks the client against a live voxgate with the shared conformance vectors
 * (conformance/manifest.json, see conformance/README.md).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConformanceTest {
  private LiveServer server;
  private VoxgateClient client;
  private Path conformance;
  private JsonObject manifest;

  @BeforeAll
  void setUp() throws Exception {
    conformance = LiveServer.repoRoot().resolve("conformance");
    Path manifestFile = conformance.resolve("manifest.json");
    assertTrue(Files.isRegularFile(manifestFile), "missing " + manifestFile);
    manifest = JsonParser.parseString(Files.readString(manifestFile)).getAsJsonObject();
    server = LiveServer.fromEnvironment();
    client =
        VoxgateClient.builder(server.address())
            .timeout(Duration.ofSeconds(60))
            .streamTimeout(Duration.ofSeconds(120))
            .build();
  }

  @AfterAll
  void tearDown() throws Exception {
    if (client != null) {
      client.close();
    }
  }

  @Test
  void serverInfoDescribesTheTokenFormat() {
    GetServerInfoResponse info = client.getServerInfo();
    assertEquals(5120, info.getTokenSpec().getVocabularySize());
    assertEquals(120, info.getTokenSpec().getGroupMs());
    assertFalse(info.getRequestId().isEmpty(), "request id");
  }

  @Test
  void tinyDeadlineOnTokenizeIsDeadlineExceeded() throws IOException {
    Path longest = null;
    for (JsonElement e : manifest.getAsJsonArray("tokenize")) {
      Path f = conformance.resolve(e.getAsJsonObject().get("file").getAsString());
      if (longest == null || Files.size(f) > Files.size(longest)) {
        longest = f;
      }
    }
    assertTrue(longest != null, "no tokenize case");
    byte[] audio = Files.readAllBytes(longest);
    VoxgateException e =
        assertThrows(
            VoxgateException.class,
            () -> client.withTimeout(Duration.ofMillis(1)).tokenize(audio, false));
    assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getCode(), e.toString());
    assertEquals("DEADLINE_EXCEEDED", e.getCodeName());
    // The channel and the server still work afterwards.
    assertEquals(5120, client.getServerInfo().getTokenSpec().getVocabularySize());
  }

  @TestFactory
  Stream<DynamicTest> tokenize() {
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonElement e : array("tokenize")) {
      JsonObject c = e.getAsJsonObject();
      String name = c.get("name").getAsString();
      tests.add(
          DynamicTest.dynamicTest(
              "Tokenize " + name,
              () -> {
                Path file = conformance.resolve(c.get("file").getAsString());
                TokenizeResponse r = client.tokenizeFile(file, true);
                assertTokens(c, r.getTokens(), "Tokenize " + name);
                assertFalse(r.getRequestId().isEmpty(), "request id");
              }));
    }
    return tests.stream();
  }

  @TestFactory
  Stream<DynamicTest> streamTokenize() {
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonElement e : array("tokenize")) {
      JsonObject c = e.getAsJsonObject();
      String name = c.get("name").getAsString();
      for (JsonElement size : array("stream_chunk_bytes")) {
        int chunk = size.getAsInt();
        String label = "StreamTokenize " + name + " in " + chunk + "-byte pieces";
        tests.add(
            DynamicTest.dynamicTest(
                label,
                () -> {
                  byte[] wav = Files.readAllBytes(conformance.resolve(c.get("file").getAsString()));
                  StreamAudioFormat format =
                      StreamAudioFormat.newBuilder()
                          .setContainer(AudioContainer.AUDIO_CONTAINER_WAV)
                          .build();
                  StreamResult r = client.streamTokenize(format, wav, chunk, true);
                  List<StreamTokenizeResponse> msgs = r.getResponses();
                  assertFalse(msgs.isEmpty(), label + ": no messages");
                  assertTrue(msgs.get(msgs.size() - 1).getFinal(), label + ": last message not final");
                  int groups = 0;
                  for (int i = 0; i < msgs.size(); i++) {
                    StreamTokenizeResponse m = msgs.get(i);
                    assertEquals(groups, m.getGroupOffset(), label + ": group_offset of message " + i);
                    assertEquals(r.getRequestId(), m.getRequestId(), label + ": request id of message " + i);
                    if (i < msgs.size() - 1) {
                      assertFalse(m.getFinal(), label + ": final before the last message");
                    }
                    groups += m.getTokens().getGroupCount();
                  }
                  assertTokens(c, r.getTokens(), label);
                }));
      }
    }
    return tests.stream();
  }

  @TestFactory
  Stream<DynamicTest> detokenize() {
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonElement e : array("detokenize")) {
      JsonObject c = e.getAsJsonObject();
      String name = c.get("name").getAsString();
      tests.add(
          DynamicTest.dynamicTest(
              "Detokenize " + name,
              () -> {
                DetokenizeResponse r = client.detokenize(ints(c.getAsJsonArray("interleaved")));
                byte[] wav = r.getAudio().getData().toByteArray();
                assertEquals(c.get("wav_sha256").getAsString(), sha256(wav), name + ": wav sha256");
                Wav header = Wav.parse(wav);
                assertEquals(c.get("num_samples").getAsLong(), header.numSamples, name + ": num_samples");
                if (c.has("sample_rate_hz")) {
                  assertEquals(c.get("sample_rate_hz").getAsInt(), header.sampleRate, name + ": sample rate");
                }
                if (c.has("group_count")) {
                  assertEquals(c.get("group_count").getAsInt(), r.getGroupCount(), name + ": group_count");
                }
              }));
    }
    return tests.stream();
  }

  @TestFactory
  Stream<DynamicTest> errors() {
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonElement e : array("errors")) {
      JsonObject c = e.getAsJsonObject();
      String name = c.get("name").getAsString();
      String rpc = c.get("rpc").getAsString();
      Status.Code want = Status.Code.valueOf(c.get("code").getAsString());
      tests.add(
          DynamicTest.dynamicTest(
              rpc + " error " + name + " -> " + want,
              () -> {
                VoxgateException ex = assertThrows(VoxgateException.class, () -> callError(c, rpc));
                assertEquals(want, ex.getCode(), name + ": " + ex);
                assertEquals(want.name(), ex.getCodeName());
              }));
    }
    return tests.stream();
  }

  /** Makes the call an error case describes; it is expected to throw. */
  private void callError(JsonObject c, String rpc) throws IOException {
    switch (rpc) {
      case "Tokenize":
        if (c.has("container_file")) {
          client.tokenize(read(c, "container_file"), false);
        } else if (c.has("raw")) {
          client.tokenizeRaw(rawFormat(c.getAsJsonObject("raw")), read(c, "raw_file"), false);
        } else {
          fail("Tokenize error case without audio: " + c);
        }
        break;
      case "StreamTokenize": {
        StreamAudioFormat.Builder format = StreamAudioFormat.newBuilder();
        byte[] audio;
        if (c.has("container_file")) {
          audio = read(c, "container_file");
          AudioContainer container = c.has("container")
              ? AudioContainer.valueOf(c.get("container").getAsString())
              : AudioContainer.AUDIO_CONTAINER_WAV;
          format.setContainer(container);
        } else if (c.has("raw")) {
          audio = read(c, "raw_file");
          format.setContainer(AudioContainer.AUDIO_CONTAINER_RAW).setRaw(rawFormat(c.getAsJsonObject("raw")));
        } else {
          fail("StreamTokenize error case without audio: " + c);
          return;
        }
        client.streamTokenize(format.build(), audio, VoxgateClient.DEFAULT_CHUNK_BYTES, false);
        break;
      }
      case "Synthesize":
      case "StreamSynthesize": {
        if (!c.has("text")) {
          fail(rpc + " error case without text: " + c);
        }
        SynthesizeRequest.Builder request = SynthesizeRequest.newBuilder();
        if (c.has("voice")) {
          request.setVoice(c.get("voice").getAsString());
        }
        if (c.has("style_instruction")) {
          request.setStyleInstruction(c.get("style_instruction").getAsString());
        }
        String text = c.get("text").getAsString();
        SynthesisStream stream = rpc.equals("Synthesize")
            ? client.synthesize(request.setText(text).build())
            : client.streamSynthesize(request.build(), List.of(text));
        stream.collect();
        break;
      }
      case "Detokenize":
        if (c.has("interleaved")) {
          client.detokenize(ints(c.getAsJsonArray("interleaved")));
        } else if (c.has("text")) {
          client.detokenizeText(c.get("text").getAsString());
        } else {
          fail("Detokenize error case without tokens: " + c);
        }
        break;
      default:
        fail("unknown rpc in error case: " + rpc);
    }
  }

  // ---------------------------------------------------------------- helpers

  private JsonArray array(String key) {
    assertTrue(manifest.has(key), "manifest has no " + key);
    return manifest.getAsJsonArray(key);
  }

  private static void assertTokens(JsonObject want, AudioTokens got, String label) {
    assertEquals(ints(want.getAsJsonArray("linguistic")), got.getLinguisticList(), label + ": linguistic");
    assertEquals(ints(want.getAsJsonArray("semantic")), got.getSemanticList(), label + ": semantic");
    assertEquals(ints(want.getAsJsonArray("interleaved")), got.getInterleavedList(), label + ": interleaved");
    assertEquals(want.get("text").getAsString(), got.getText(), label + ": text");
    assertEquals(want.get("group_count").getAsInt(), got.getGroupCount(), label + ": group_count");
  }

  private byte[] read(JsonObject c, String key) throws IOException {
    return Files.readAllBytes(conformance.resolve(c.get(key).getAsString()));
  }

  private static RawAudioFormat rawFormat(JsonObject raw) {
    return RawAudioFormat.newBuilder()
        .setEncoding(PcmEncoding.valueOf(raw.get("encoding").getAsString()))
        .setSampleRateHz(raw.get("sample_rate_hz").getAsInt())
        .setChannels(raw.get("channels").getAsInt())
        .build();
  }

  private static List<Integer> ints(JsonArray a) {
    List<Integer> out = new ArrayList<>(a.size());
    for (JsonElement e : a) {
      out.add(e.getAsInt());
    }
    return out;
  }

  private static String sha256(byte[] data) throws NoSuchAlgorithmException {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
  }

  /** The fields of a RIFF/WAVE header the tests check. */
  static final class Wav {
    int channels;
    int sampleRate;
    int bitsPerSample;
    long numSamples;

    static Wav parse(byte[] b) {
      ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
      assertEquals("RIFF", new String(b, 0, 4, StandardCharsets.US_ASCII), "RIFF tag");
      assertEquals("WAVE", new String(b, 8, 4, StandardCharsets.US_ASCII), "WAVE tag");
      Wav w = new Wav();
      int pos = 12;
      boolean haveFormat = false;
      while (pos + 8 <= b.length) {
        String id = new String(b, pos, 4, StandardCharsets.US_ASCII);
        long size = Integer.toUnsignedLong(buf.getInt(pos + 4));
        int body = pos + 8;
        if (id.equals("fmt ")) {
          w.channels = Short.toUnsignedInt(buf.getShort(body + 2));
          w.sampleRate = buf.getInt(body + 4);
          w.bitsPerSample = Short.toUnsignedInt(buf.getShort(body + 14));
          haveFormat = true;
        } else if (id.equals("data")) {
          assertTrue(haveFormat, "data chunk before fmt chunk");
          long bytes = Math.min(size, b.length - body);
          w.numSamples = bytes / ((long) w.channels * (w.bitsPerSample / 8));
          return w;
        }
        pos = body + (int) size + (int) (size & 1);
      }
      fail("WAV without a data chunk");
      return w;
    }
  }
}

package dev.voxgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.voxgate.v1.AudioContainer;
import dev.voxgate.v1.AudioOutput;
import dev.voxgate.v1.ChatConfig;
import dev.voxgate.v1.ChatRequest;
import dev.voxgate.v1.ChatResponse;
import dev.voxgate.v1.ChatServiceGrpc;
import dev.voxgate.v1.OutputAudioFormat;
import dev.voxgate.v1.PcmEncoding;
import dev.voxgate.v1.StreamAudioFormat;
import dev.voxgate.v1.Transcript;
import dev.voxgate.v1.TurnEnd;
import dev.voxgate.v1.WordTiming;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * ChatSession against a scripted in-process ChatService (no voxgate needed): the send methods,
 * blocking and observer receiving, the one-turn conveniences and the error mapping.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChatSessionTest {
  private Server server;
  private VoxgateClient client;
  private final List<ChatRequest> received = Collections.synchronizedList(new ArrayList<>());

  /**
   * Answers each user turn with "You said: TEXT" (or "N bytes of audio in K pieces") as two text
   * deltas, a WAV reply (an empty piece with tokens, then the file) unless text_only, and a
   * TurnEnd. Audio without an input format, or a playback ack of an unknown turn, ends the call
   * with INVALID_ARGUMENT, as the real server does.
   */
  private final class FakeChat extends ChatServiceGrpc.ChatServiceImplBase {
    @Override
    public StreamObserver<ChatRequest> chat(StreamObserver<ChatResponse> out) {
      return new StreamObserver<ChatRequest>() {
        ChatConfig config;
        int turn;
        final StringBuilder text = new StringBuilder();
        int audioBytes;
        int audioPieces;
        boolean done;

        private void fail(String why) {
          done = true;
          out.onError(Status.INVALID_ARGUMENT.withDescription(why).asRuntimeException());
        }

        private void send(ChatResponse.Builder r) {
          out.onNext(r.setRequestId("fake-request").setTurnIndex(turn).build());
        }

        @Override
        public void onNext(ChatRequest req) {
          if (done) {
            return;
          }
          if (config == null) {
            if (!req.hasConfig()) {
              fail("the first message must be a config");
              return;
            }
            config = req.getConfig();
            return;
          }
          received.add(req);
          switch (req.getMessageCase()) {
            case CONFIG:
              fail("a second config");
              return;
            case PLAYBACK:
              if (req.getPlayback().getTurnIndex() >= turn) {
                fail("playback ack for unknown turn " + req.getPlayback().getTurnIndex());
              }
              return;
            case INPUT:
              break;
            default:
              return;
          }
          switch (req.getInput().getContentCase()) {
            case TEXT:
              text.append(req.getInput().getText());
              break;
            case AUDIO:
              if (!config.hasInputFormat()) {
                fail("audio without input_format");
                return;
              }
              audioBytes += req.getInput().getAudio().size();
              audioPieces++;
              break;
            default:
              break;
          }
          if (!req.getInput().getEndOfTurn()) {
            return;
          }
          String user = text.toString();
          if (audioPieces > 0) {
            String heard = audioBytes + " bytes of audio in " + audioPieces + " pieces";
            send(ChatResponse.newBuilder().setTranscript(Transcript.newBuilder().setText(heard)));
            send(
                ChatResponse.newBuilder()
                    .setTranscript(Transcript.newBuilder().setText(heard).setIsFinal(true)));
            user = (heard + " " + user).trim();
          }
          String[] deltas = {"You said: ", user};
          for (String d : deltas) {
            send(ChatResponse.newBuilder().setTextDelta(d));
          }
          double seconds = 0;
          if (!config.getTextOnly()) {
            OutputAudioFormat format =
                OutputAudioFormat.newBuilder()
                    .setContainer(AudioContainer.AUDIO_CONTAINER_WAV)
                    .setEncoding(PcmEncoding.PCM_ENCODING_S16LE)
                    .setSampleRateHz(24000)
                    .build();
            seconds = 0.1;
            send(
                ChatResponse.newBuilder()
                    .setAudio(AudioOutput.newBuilder().setFormat(format))
                    .addAllAudioTokens(List.of(1, 2, 1100, 1200, 1300))
                    .addWords(WordTiming.newBuilder().setWord("You").setEndMs(50)));
            send(
                ChatResponse.newBuilder()
                    .setAudio(
                        AudioOutput.newBuilder()
                            .setFormat(format)
                            .setData(ByteString.copyFrom(wav(2400, 24000)))
                            .setDurationSeconds(seconds))
                    .setStartSeconds(seconds));
          }
          String full = String.join("", deltas);
          send(
              ChatResponse.newBuilder()
                  .setTurnEnd(
                      TurnEnd.newBuilder()
                          .setText(full)
                          .setUserTranscript(user)
                          .setHeardText(full)
                          .setReplyTokens(5)
                          .setAudioSeconds(seconds)));
          turn++;
          text.setLength(0);
          audioBytes = 0;
          audioPieces = 0;
        }

        @Override
        public void onError(Throwable t) {
          done = true;
        }

        @Override
        public void onCompleted() {
          if (!done) {
            done = true;
            out.onCompleted();
          }
        }
      };
    }
  }

  /** A mono 16-bit WAV file of n silent samples. */
  static byte[] wav(int n, int rate) {
    ByteBuffer b = ByteBuffer.allocate(44 + 2 * n).order(ByteOrder.LITTLE_ENDIAN);
    b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(36 + 2 * n);
    b.put("WAVEfmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16);
    b.putShort((short) 1).putShort((short) 1).putInt(rate).putInt(2 * rate);
    b.putShort((short) 2).putShort((short) 16);
    b.put("data".getBytes(StandardCharsets.US_ASCII)).putInt(2 * n);
    return b.array();
  }

  @BeforeAll
  void start() throws IOException {
    server =
        Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
            .addService(new FakeChat())
            .build()
            .start();
    client =
        VoxgateClient.builder("127.0.0.1:" + server.getPort())
            .streamTimeout(Duration.ofSeconds(20))
            .build();
  }

  @AfterAll
  void stop() throws InterruptedException {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void textTurnsAndTheSendMethods() {
    try (ChatSession chat = client.chat(ChatConfig.getDefaultInstance())) {
      for (int i = 0; i < 2; i++) {
        ChatReply r = chat.turn("hello " + i);
        assertEquals("You said: hello " + i, r.getText());
        assertEquals(r.getText(), r.getTurnEnd().getText());
        assertEquals("hello " + i, r.getTurnEnd().getUserTranscript());
        assertEquals(i, r.getTurnIndex());
        assertEquals("fake-request", r.getRequestId());
        assertEquals(5, r.getResponses().size());
        assertEquals(2, r.getAudioMessageCount());
        assertEquals(5, r.getAudioTokens().size());
        assertEquals(1, r.getWords().size());
        assertEquals(24000, r.getFormat().getSampleRateHz());
        byte[] audio = r.getAudio();
        assertEquals(44 + 4800, audio.length);
        assertEquals("RIFF", new String(audio, 0, 4, StandardCharsets.US_ASCII));
      }
      chat.sendText("a ");
      chat.sendText("b");
      chat.endTurn();
      chat.ackPlayback(1, 1500);
      chat.interrupt();
      List<ChatResponse> rest = chat.finish();
      assertEquals(5, rest.size());
      ChatReply last = ChatReply.of(rest);
      assertEquals("You said: a b", last.getText());
      assertEquals(2, last.getTurnIndex());
      assertNull(chat.receive(), "receive after the end");
      assertTrue(chat.isFinished());
      assertNull(chat.getFailure());
      assertThrows(IllegalStateException.class, () -> chat.sendText("late"));
      chat.closeSend(); // no-op after the end
    }
  }

  @Test
  void audioTurn() throws IOException {
    ChatConfig config =
        ChatConfig.newBuilder()
            .setInputFormat(StreamAudioFormat.newBuilder().setContainer(AudioContainer.AUDIO_CONTAINER_WAV))
            .setTextOnly(true)
            .build();
    try (ChatSession chat = client.chat(config)) {
      received.clear();
      byte[] wav = wav(50000, 16000); // 100 044 bytes: 4 pieces of 32 KiB, the last shorter
      ChatReply r = chat.turn(new ByteArrayInputStream(wav), ChatSession.DEFAULT_CHUNK_BYTES);
      String want = "100044 bytes of audio in 4 pieces";
      assertEquals(want, r.getTranscript());
      assertEquals(want, r.getTurnEnd().getUserTranscript());
      assertEquals(0, r.getAudio().length);
      assertEquals(0, r.getAudioMessageCount());
      ChatRequest last = received.get(received.size() - 1);
      assertTrue(last.getInput().getEndOfTurn() && last.getInput().getContentCase().getNumber() == 0, last.toString());

      r = chat.turn("and text", new ByteArrayInputStream(wav, 0, 1000), 300);
      assertEquals("1000 bytes of audio in 4 pieces and text", r.getTurnEnd().getUserTranscript());
      assertEquals(1, r.getTurnIndex());
      chat.finish();
    }
  }

  @Test
  void observer() throws Exception {
    List<ChatResponse> seen = Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<Void> done = new CompletableFuture<>();
    ChatSession chat =
        client.chat(
            ChatConfig.newBuilder().setTextOnly(true).build(),
            new StreamObserver<>() {
              @Override
              public void onNext(ChatResponse r) {
                seen.add(r);
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
    chat.sendTextTurn("hi");
    chat.closeSend();
    done.get(20, TimeUnit.SECONDS);
    assertEquals(3, seen.size());
    assertEquals("You said: hi", ChatReply.of(seen).getText());
    assertThrows(IllegalStateException.class, chat::receive, "blocking reads of an observer session");

    // A failure reaches onError as a VoxgateException.
    CompletableFuture<Throwable> failed = new CompletableFuture<>();
    ChatSession bad =
        client.chat(
            ChatConfig.getDefaultInstance(),
            new StreamObserver<>() {
              @Override
              public void onNext(ChatResponse r) {}

              @Override
              public void onError(Throwable t) {
                failed.complete(t);
              }

              @Override
              public void onCompleted() {
                failed.complete(null);
              }
            });
    bad.sendAudio(new byte[] {1, 2, 3});
    Throwable t = failed.get(20, TimeUnit.SECONDS);
    assertTrue(t instanceof VoxgateException, String.valueOf(t));
    assertEquals(Status.Code.INVALID_ARGUMENT, ((VoxgateException) t).getCode());
    assertSame(t, bad.getFailure());
  }

  @Test
  void errors() {
    // Audio without an input format: INVALID_ARGUMENT as a VoxgateException.
    try (ChatSession chat = client.chat(ChatConfig.getDefaultInstance())) {
      VoxgateException e =
          assertThrows(
              VoxgateException.class,
              () -> chat.turn(new ByteArrayInputStream(wav(1600, 16000)), 1024));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getCode());
      assertEquals("INVALID_ARGUMENT", e.getCodeName());
      VoxgateException again = assertThrows(VoxgateException.class, () -> chat.sendText("more"));
      assertEquals(Status.Code.INVALID_ARGUMENT, again.getCode());
    }
    // A playback ack of an unknown turn.
    try (ChatSession chat = client.chat(ChatConfig.getDefaultInstance())) {
      chat.ackPlayback(7, 1000);
      VoxgateException e = assertThrows(VoxgateException.class, chat::receive);
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getCode());
    }
    // A failure reading the audio cancels the call and is rethrown.
    try (ChatSession chat =
        client.chat(
            ChatConfig.newBuilder()
                .setInputFormat(
                    StreamAudioFormat.newBuilder().setContainer(AudioContainer.AUDIO_CONTAINER_WAV))
                .build())) {
      InputStream broken =
          new SequenceInputStream(
              new ByteArrayInputStream(new byte[] {'R', 'I', 'F', 'F'}),
              new InputStream() {
                @Override
                public int read() throws IOException {
                  throw new IOException("disk on fire");
                }
              });
      IOException e = assertThrows(IOException.class, () -> chat.turn(broken, 4));
      assertEquals("disk on fire", e.getMessage());
      VoxgateException cancelled = assertThrows(VoxgateException.class, chat::awaitReply);
      assertEquals(Status.Code.CANCELLED, cancelled.getCode());
    }
    // The end of the conversation before a TurnEnd.
    try (ChatSession chat = client.chat(ChatConfig.getDefaultInstance())) {
      chat.closeSend();
      assertThrows(IllegalStateException.class, chat::awaitReply);
      assertThrows(IllegalArgumentException.class, () -> chat.turn(null, null, 10));
    }
  }
}

package dev.voxgate;

import com.google.gson.Gson;
import com.google.protobuf.ByteString;
import dev.voxgate.v1.AudioContainer;
import dev.voxgate.v1.AudioInput;
import dev.voxgate.v1.AudioTokens;
import dev.voxgate.v1.ChatConfig;
import dev.voxgate.v1.ChatRequest;
import dev.voxgate.v1.ChatResponse;
import dev.voxgate.v1.ChatServiceGrpc;
import dev.voxgate.v1.CreateVoiceRequest;
import dev.voxgate.v1.DeleteVoiceRequest;
import dev.voxgate.v1.DetokenizeRequest;
import dev.voxgate.v1.DetokenizeResponse;
import dev.voxgate.v1.DiscoveryServiceGrpc;
import dev.voxgate.v1.GetServerInfoRequest;
import dev.voxgate.v1.GetServerInfoResponse;
import dev.voxgate.v1.InterleavedTokens;
import dev.voxgate.v1.ListVoicesRequest;
import dev.voxgate.v1.OutputAudioFormat;
import dev.voxgate.v1.RawAudio;
import dev.voxgate.v1.RawAudioFormat;
import dev.voxgate.v1.StreamAudioFormat;
import dev.voxgate.v1.StreamSynthesizeConfig;
import dev.voxgate.v1.StreamSynthesizeRequest;
import dev.voxgate.v1.StreamSynthesizeResponse;
import dev.voxgate.v1.StreamTokenizeConfig;
import dev.voxgate.v1.StreamTokenizeRequest;
import dev.voxgate.v1.StreamTokenizeResponse;
import dev.voxgate.v1.TokenizeRequest;
import dev.voxgate.v1.TokenizeResponse;
import dev.voxgate.v1.SynthesisServiceGrpc;
import dev.voxgate.v1.SynthesizeRequest;
import dev.voxgate.v1.SynthesizeResponse;
import dev.voxgate.v1.TokenizerServiceGrpc;
import dev.voxgate.v1.VoicePrompt;
import dev.voxgate.v1.Voice;
import io.grpc.ChannelCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.ManagedChannelRegistry;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A thin client for voxgate's {@code voxgate.v1} TokenizerService, SynthesisService, ChatService
 * and DiscoveryService over a gRPC channel: plaintext by default, TLS with {@link Builder#tls()},
 * {@link Builder#tlsCa} (mutual TLS with {@link Builder#tlsClientCertificate}), and a bearer
 * token on every call with {@link Builder#token}.
 *
 * <p>Every call carries a deadline: {@link Builder#timeout} for unary calls (default 30 s) and
 * {@link Builder#streamTimeout} for the streaming calls, StreamTokenize, Synthesize,
 * StreamSynthesize and a whole Chat conversation (default 120 s); {@link #withTimeout} makes a
 * view with other deadlines. Failed calls throw {@link VoxgateException} with the gRPC status
 * code.
 *
 * <p>The channel uses voxgate's published gRPC service config ({@link #serviceConfig(boolean)}):
 * the idempotent unary calls (Tokenize, Detokenize, GetServerInfo, ListVoices) are retried on
 * UNAVAILABLE, and every call waits for the server to be reachable, within its deadline ({@link
 * Builder#waitForReady(boolean) waitForReady(false)} to fail fast instead).
 *
 * <pre>{@code
 * try (VoxgateClient client = VoxgateClient.connect("127.0.0.1:50051")) {
 *   TokenizeResponse r = client.tokenizeFile(Path.of("speech.wav"), true);
 *   System.out.println(r.getTokens().getInterleavedList());
 * }
 * }</pre>
 */
public final class VoxgateClient implements AutoCloseable {
  /** Default deadline of unary calls. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
  /** Default deadline of a streaming call, from its start to the final message. */
  public static final Duration DEFAULT_STREAM_TIMEOUT = Duration.ofSeconds(120);
  /** Default piece size for streaming a file. */
  public static final int DEFAULT_CHUNK_BYTES = 4096;
  /** Default largest accepted response message (Detokenize returns whole files). */
  public static final int DEFAULT_MAX_INBOUND_MESSAGE_BYTES = 64 * 1024 * 1024;
  /**
   * The server's published service config (service/voxgate/service_config.json, copied into this
   * jar's resources by generate.sh).
   */
  private static final String SERVICE_CONFIG_RESOURCE = "/dev/voxgate/service_config.json";

  private final ManagedChannel channel;
  private final boolean ownsChannel;
  private final Duration timeout;
  private final Duration streamTimeout;
  private final TokenizerServiceGrpc.TokenizerServiceBlockingStub tokenizer;
  private final TokenizerServiceGrpc.TokenizerServiceStub tokenizerAsync;
  private final DiscoveryServiceGrpc.DiscoveryServiceBlockingStub discovery;
  private final SynthesisServiceGrpc.SynthesisServiceBlockingStub synthesis;
  private final SynthesisServiceGrpc.SynthesisServiceStub synthesisAsync;
  private final ChatServiceGrpc.ChatServiceStub chatAsync;

  private VoxgateClient(
      ManagedChannel channel, boolean ownsChannel, Duration timeout, Duration streamTimeout) {
    this.channel = channel;
    this.ownsChannel = ownsChannel;
    this.timeout = requirePositive(timeout, "timeout");
    this.streamTimeout = requirePositive(streamTimeout, "streamTimeout");
    this.tokenizer = TokenizerServiceGrpc.newBlockingStub(channel);
    this.tokenizerAsync = TokenizerServiceGrpc.newStub(channel);
    this.discovery = DiscoveryServiceGrpc.newBlockingStub(channel);
    this.synthesis = SynthesisServiceGrpc.newBlockingStub(channel);
    this.synthesisAsync = SynthesisServiceGrpc.newStub(channel);
    this.chatAsync = ChatServiceGrpc.newStub(channel);
  }

  /** Connects to {@code host:port} (plaintext) with the default settings. */
  public static VoxgateClient connect(String address) {
    return builder(address).build();
  }

  /** A builder for a client of the server at {@code host:port} (plaintext unless told otherwise). */
  public static Builder builder(String address) {
    return new Builder(address);
  }

  /**
   * Wraps a channel the caller manages; {@link #close()} leaves it open. Useful for custom
   * credentials or interceptors.
   */
  public static VoxgateClient forChannel(ManagedChannel channel, Duration timeout, Duration streamTimeout) {
    return new VoxgateClient(Objects.requireNonNull(channel, "channel"), false, timeout, streamTimeout);
  }

  /**
   * A view of this client whose calls use {@code timeout} as their deadline (unary and streaming).
   * It shares this client's channel; closing the view does not close the channel.
   */
  public VoxgateClient withTimeout(Duration timeout) {
    return new VoxgateClient(channel, false, timeout, timeout);
  }

  /**
   * voxgate's published gRPC service config, as {@link
   * ManagedChannelBuilder#defaultServiceConfig(Map)} takes it: retries on UNAVAILABLE (4
   * attempts, 0.2-2 s backoff) for Tokenize, Detokenize, the DiscoveryService and ListVoices, and
   * every method's {@code waitForReady} set to {@code waitForReady}. The builder applies it; use
   * it for a channel of your own ({@link #forChannel}) together with {@code enableRetry()}.
   */
  public static Map<String, ?> serviceConfig(boolean waitForReady) {
    String json;
    try (InputStream in = VoxgateClient.class.getResourceAsStream(SERVICE_CONFIG_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("resource " + SERVICE_CONFIG_RESOURCE + " is missing");
      }
      json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // Gson gives JSON numbers as Double, arrays as List and objects as Map: the forms
    // defaultServiceConfig accepts.
    @SuppressWarnings("unchecked")
    Map<String, Object> config = new Gson().fromJson(json, Map.class);
    Object methods = config.get("methodConfig");
    if (methods instanceof List<?>) {
      for (Object method : (List<?>) methods) {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) method;
        m.put("waitForReady", waitForReady);
      }
    }
    return config;
  }

  /** The underlying channel, for calling other services with the generated stubs. */
  public ManagedChannel getChannel() {
    return channel;
  }

  // ---------------------------------------------------------------- discovery

  /** Describes the server: models, token format, limits. */
  public GetServerInfoResponse getServerInfo() {
    try {
      return discovery
          .withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS)
          .getServerInfo(GetServerInfoRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      throw VoxgateException.from(e);
    }
  }

  // ---------------------------------------------------------------- tokenize

  /** Tokenizes a whole request as given. */
  public TokenizeResponse tokenize(TokenizeRequest request) {
    try {
      return tokenizer.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS).tokenize(request);
    } catch (StatusRuntimeException e) {
      throw VoxgateException.from(e);
    }
  }

  /** Tokenizes a recording in a container (WAV, FLAC, OGG or MP3, detected by the server). */
  public TokenizeResponse tokenize(byte[] container, boolean includeText) {
    return tokenize(
        TokenizeRequest.newBuilder()
            .setAudio(AudioInput.newBuilder().setContainer(ByteString.copyFrom(container)))
            .setIncludeText(includeText)
            .build());
  }

  /** Tokenizes headerless PCM in the given layout. */
  public TokenizeResponse tokenizeRaw(RawAudioFormat format, byte[] pcm, boolean includeText) {
    return tokenize(
        TokenizeRequest.newBuilder()
            .setAudio(
                AudioInput.newBuilder()
                    .setRaw(RawAudio.newBuilder().setFormat(format).setData(ByteString.copyFrom(pcm))))
            .setIncludeText(includeText)
            .build());
  }

  /** Tokenizes an audio file (WAV, FLAC, OGG or MP3). */
  public TokenizeResponse tokenizeFile(Path file, boolean includeText) throws IOException {
    return tokenize(Files.readAllBytes(file), includeText);
  }

  // ---------------------------------------------------------------- stream tokenize

  /**
   * Streams audio to StreamTokenize as live audio: the config first, then pieces of
   * {@code chunkBytes} read from {@code audio}, then a half-close; collects the server's
   * messages (one per completed 120 ms group) until the final one.
   *
   * @param format the layout of {@code audio} (e.g. AUDIO_CONTAINER_WAV, or RAW with a format)
   * @param onResponse called with each server message as it arrives (may be {@code null}); it runs
   *     on a gRPC thread and must not block
   */
  public StreamResult streamTokenize(
      StreamAudioFormat format,
      InputStream audio,
      int chunkBytes,
      boolean includeText,
      Consumer<StreamTokenizeResponse> onResponse) {
    Objects.requireNonNull(format, "format");
    Objects.requireNonNull(audio, "audio");
    if (chunkBytes <= 0) {
      throw new IllegalArgumentException("chunkBytes must be positive, got " + chunkBytes);
    }
    StreamTokenizeRequest config =
        StreamTokenizeRequest.newBuilder()
            .setConfig(StreamTokenizeConfig.newBuilder().setFormat(format).setIncludeText(includeText))
            .build();
    List<StreamTokenizeResponse> responses = Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<Void> done = new CompletableFuture<>();
    Sender sender = new Sender(config, audio, chunkBytes, responses, onResponse, done);
    tokenizerAsync
        .withDeadlineAfter(streamTimeout.toNanos(), TimeUnit.NANOSECONDS)
        .streamTokenize(sender);
    try {
      done.get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (sender.readFailure != null) {
        throw new UncheckedIOException("reading the audio to stream failed", sender.readFailure);
      }
      throw VoxgateException.from(cause);
    } catch (InterruptedException e) {
      sender.cancel("interrupted");
      Thread.currentThread().interrupt();
      throw new VoxgateException(Status.Code.CANCELLED, "interrupted", e);
    }
    return new StreamResult(
        responses.isEmpty() ? "" : responses.get(0).getRequestId(), responses, concat(responses));
  }

  /** Streams a whole byte array; see {@link #streamTokenize(StreamAudioFormat, InputStream, int, boolean, Consumer)}. */
  public StreamResult streamTokenize(
      StreamAudioFormat format, byte[] audio, int chunkBytes, boolean includeText) {
    return streamTokenize(format, new ByteArrayInputStream(audio), chunkBytes, includeText, null);
  }

  /**
   * Streams an audio file in pieces of {@code chunkBytes}, its container detected from its first
   * bytes (WAV is read as it arrives; FLAC, OGG and MP3 are decoded when the stream closes).
   */
  public StreamResult streamTokenizeFile(Path file, int chunkBytes, boolean includeText)
      throws IOException {
    byte[] head;
    try (InputStream in = Files.newInputStream(file)) {
      head = in.readNBytes(12);
    }
    StreamAudioFormat format =
        StreamAudioFormat.newBuilder().setContainer(detectContainer(head)).build();
    try (InputStream in = Files.newInputStream(file)) {
      return streamTokenize(format, in, chunkBytes, includeText, null);
    }
  }

  // ---------------------------------------------------------------- detokenize

  /** Detokenizes a whole request as given. */
  public DetokenizeResponse detokenize(DetokenizeRequest request) {
    try {
      return tokenizer.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS).detokenize(request);
    } catch (StatusRuntimeException e) {
      throw VoxgateException.from(e);
    }
  }

  /** Turns interleaved ids into audio in {@code format} ({@code null}: WAV S16LE at the native rate). */
  public DetokenizeResponse detokenize(Iterable<Integer> interleaved, OutputAudioFormat format) {
    DetokenizeRequest.Builder b =
        DetokenizeRequest.newBuilder()
            .setInterleaved(InterleavedTokens.newBuilder().addAllIds(interleaved));
    if (format != null) {
      b.setOutputFormat(format);
    }
    return detokenize(b.build());
  }

  /** Turns interleaved ids into a WAV file (S16LE at the model's native rate), returned whole. */
  public DetokenizeResponse detokenize(Iterable<Integer> interleaved) {
    return detokenize(interleaved, null);
  }

  /** Turns interleaved ids into a WAV file (S16LE at the model's native rate). */
  public DetokenizeResponse detokenize(int... interleaved) {
    List<Integer> ids = new ArrayList<>(interleaved.length);
    for (int id : interleaved) {
      ids.add(id);
    }
    return detokenize(ids, null);
  }

  /** Turns the text form {@code "<audio_N>..."} into a WAV file. */
  public DetokenizeResponse detokenizeText(String text) {
    return detokenize(DetokenizeRequest.newBuilder().setText(text).build());
  }

  /** Turns interleaved ids into a WAV file written to {@code out}; returns the response. */
  public DetokenizeResponse detokenizeToFile(Iterable<Integer> interleaved, Path out)
      throws IOException {
    DetokenizeResponse response = detokenize(interleaved, null);
    Files.write(out, response.getAudio().getData().toByteArray());
    return response;
  }

  // ---------------------------------------------------------------- synthesis

  /**
   * Synthesizes speech (server streaming): the pieces as a blocking iterator, each one as soon as
   * the server has it; the last has {@code final} set. Close it (try-with-resources) to stop
   * early; {@link SynthesisStream#collect()} reads them all.
   */
  public SynthesisStream synthesize(SynthesizeRequest request) {
    Objects.requireNonNull(request, "request");
    SynthesisStream stream = new SynthesisStream();
    synthesisAsync
        .withDeadlineAfter(streamTimeout.toNanos(), TimeUnit.NANOSECONDS)
        .synthesize(request, stream.<SynthesizeRequest, SynthesizeResponse>observer(r -> r, null));
    return stream;
  }

  /** Synthesizes {@code text} with the default voice, style and format (WAV in the final piece). */
  public SynthesisStream synthesize(String text) {
    return synthesize(SynthesizeRequest.newBuilder().setText(text).build());
  }

  /**
   * Synthesizes speech, delivering the pieces to {@code observer} on gRPC threads (it must not
   * block); a failure arrives in {@code onError} as a {@link VoxgateException}.
   */
  public void synthesize(SynthesizeRequest request, StreamObserver<SynthesizeResponse> observer) {
    Objects.requireNonNull(observer, "observer");
    synthesisAsync
        .withDeadlineAfter(streamTimeout.toNanos(), TimeUnit.NANOSECONDS)
        .synthesize(
            request,
            new StreamObserver<>() {
              @Override
              public void onNext(SynthesizeResponse value) {
                observer.onNext(value);
              }

              @Override
              public void onError(Throwable t) {
                observer.onError(VoxgateException.from(t));
              }

              @Override
              public void onCompleted() {
                observer.onCompleted();
              }
            });
  }

  /**
   * Synthesizes into a WAV file written to {@code out} (the request's container is set to WAV;
   * its encoding and rate are kept). The WAV arrives whole in the final piece.
   */
  public SynthesisResult synthesizeToFile(SynthesizeRequest request, Path out) throws IOException {
    SynthesizeRequest.Builder wav = request.toBuilder();
    wav.getOutputFormatBuilder().setContainer(AudioContainer.AUDIO_CONTAINER_WAV);
    SynthesisResult result = synthesize(wav.build()).collect();
    Files.write(out, result.getAudio());
    return result;
  }

  /** Synthesizes {@code text} (default voice and style) into a WAV file. */
  public SynthesisResult synthesizeToFile(String text, Path out) throws IOException {
    return synthesizeToFile(SynthesizeRequest.newBuilder().setText(text).build(), out);
  }

  /**
   * Synthesizes text that arrives piece by piece (for example from an LLM) on one bidirectional
   * StreamSynthesize call: {@code config} (voice, prompt, style, output format; its {@code text}
   * may hold the first text) first, then each string of {@code texts}, then the end of input.
   * Audio comes back as soon as each clause is complete, as the same pieces Synthesize sends.
   *
   * <p>{@code texts} is read on a separate thread ("voxgate-stream-synthesize"), so it may block
   * while waiting for more text (e.g. a {@link java.util.concurrent.BlockingQueue} drained by an
   * iterator). If it throws, the call is cancelled and the stream rethrows that exception.
   */
  public SynthesisStream streamSynthesize(SynthesizeRequest config, Iterator<String> texts) {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(texts, "texts");
    SynthesisStream stream = new SynthesisStream();
    Object lock = stream.lock();
    Runnable wake =
        () -> {
          synchronized (lock) {
            lock.notifyAll();
          }
        };
    synthesisAsync
        .withDeadlineAfter(streamTimeout.toNanos(), TimeUnit.NANOSECONDS)
        .streamSynthesize(
            stream.<StreamSynthesizeRequest, StreamSynthesizeResponse>observer(
                StreamSynthesizeResponse::getPiece, wake));
    StreamSynthesizeRequest first =
        StreamSynthesizeRequest.newBuilder()
            .setConfig(StreamSynthesizeConfig.newBuilder().setRequest(config))
            .build();
    Thread sender =
        new Thread(
            () -> {
              try {
                if (!send(stream, first)) {
                  return;
                }
                while (texts.hasNext()) {
                  String text = texts.next();
                  if (text == null || text.isEmpty()) {
                    continue;
                  }
                  if (!send(stream, StreamSynthesizeRequest.newBuilder().setText(text).build())) {
                    return;
                  }
                }
                synchronized (lock) {
                  if (!stream.isFinished()) {
                    stream.<StreamSynthesizeRequest>requests().onCompleted();
                  }
                }
              } catch (RuntimeException e) {
                stream.failSending(e);
              } catch (InterruptedException e) {
                stream.failSending(new VoxgateException(Status.Code.CANCELLED, "interrupted", e));
              }
            },
            "voxgate-stream-synthesize");
    sender.setDaemon(true);
    sender.start();
    return stream;
  }

  /** {@link #streamSynthesize(SynthesizeRequest, Iterator)} over an iterable of text pieces. */
  public SynthesisStream streamSynthesize(SynthesizeRequest config, Iterable<String> texts) {
    return streamSynthesize(config, texts.iterator());
  }

  /** Sends one message once the call can take it; false when the call has already ended. */
  private static boolean send(SynthesisStream stream, StreamSynthesizeRequest message)
      throws InterruptedException {
    Object lock = stream.lock();
    synchronized (lock) {
      ClientCallStreamObserver<StreamSynthesizeRequest> requests = stream.requests();
      while (!stream.isFinished() && !requests.isReady()) {
        lock.wait(100); // woken by the call's onReady handler or its end
      }
      if (stream.isFinished()) {
        return false;
      }
      requests.onNext(message);
      return true;
    }
  }

  /** Registers a cloned voice; returns it (its id goes in {@code SynthesizeRequest.voice}). */
  public Voice createVoice(CreateVoiceRequest request) {
    try {
      return synthesis
          .withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS)
          .createVoice(request)
          .getVoice();
    } catch (StatusRuntimeException e) {
      throw VoxgateException.from(e);
    }
  }

  /**
   * Registers a cloned voice from a prompt recording (WAV, FLAC, OGG or MP3 bytes) and what it
   * says.
   */
  public Voice createVoice(
      String name, byte[] promptAudio, String transcript, String consentNote, boolean keepAudio) {
    return createVoice(
        CreateVoiceRequest.newBuilder()
            .setName(name)
            .setPrompt(
                VoicePrompt.newBuilder()
                    .setAudio(AudioInput.newBuilder().setContainer(ByteString.copyFrom(promptAudio)))
                    .setTranscript(transcript))
            .setConsentNote(consentNote == null ? "" : consentNote)
            .setKeepAudio(keepAudio)
            .build());
  }

  /** The built-in voices, then the registered ones by creation time. */
  public List<Voice> listVoices() {
    try {
      return synthesis
          .withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS)
          .listVoices(ListVoicesRequest.getDefaultInstance())
          .getVoicesList();
    } catch (StatusRuntimeException e) {
      throw VoxgateException.from(e);
    }
  }

  /** Deletes a registered voice (NOT_FOUND: no such voice; FAILED_PRECONDITION: built in). */
  public void deleteVoice(String voiceId) {
    try {
      synthesis
          .withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS)
          .deleteVoice(DeleteVoiceRequest.newBuilder().setVoiceId(voiceId).build());
    } catch (StatusRuntimeException e) {
      throw VoxgateException.from(e);
    }
  }

  // ---------------------------------------------------------------- chat

  /**
   * Opens a conversation (ChatService.Chat) and sends {@code config} as its first message. The
   * session buffers the server's messages for blocking reads: {@link ChatSession#turn(String)},
   * {@link ChatSession#turn(java.io.InputStream, int)}, {@link ChatSession#awaitReply()}, {@link
   * ChatSession#receive()}. The whole conversation has the stream deadline ({@link
   * Builder#streamTimeout}, or {@link #withTimeout}).
   */
  public ChatSession chat(ChatConfig config) {
    return startChat(config, null);
  }

  /**
   * Opens a conversation and sends {@code config} as its first message; the server's messages go
   * to {@code observer} on gRPC threads as they arrive (it must not block; it may send on the
   * session). A failure arrives in {@code onError} as a {@link VoxgateException}.
   */
  public ChatSession chat(ChatConfig config, StreamObserver<ChatResponse> observer) {
    return startChat(config, Objects.requireNonNull(observer, "observer"));
  }

  private ChatSession startChat(ChatConfig config, StreamObserver<ChatResponse> observer) {
    Objects.requireNonNull(config, "config");
    ChatSession session = new ChatSession(observer);
    chatAsync
        .withDeadlineAfter(streamTimeout.toNanos(), TimeUnit.NANOSECONDS)
        .chat(session.responseObserver());
    session.send(ChatRequest.newBuilder().setConfig(config).build());
    return session;
  }

  // ---------------------------------------------------------------- helpers

  /**
   * Guesses a container from the first bytes of a file: RIFF/WAVE, fLaC, OggS or MP3 (ID3 tag or
   * frame sync); anything else is AUDIO_CONTAINER_UNSPECIFIED.
   */
  public static AudioContainer detectContainer(byte[] head) {
    if (startsWith(head, "RIFF") || startsWith(head, "RIFX") || startsWith(head, "RF64")) {
      return AudioContainer.AUDIO_CONTAINER_WAV;
    }
    if (startsWith(head, "fLaC")) {
      return AudioContainer.AUDIO_CONTAINER_FLAC;
    }
    if (startsWith(head, "OggS")) {
      return AudioContainer.AUDIO_CONTAINER_OGG;
    }
    if (startsWith(head, "ID3")
        || (head.length >= 2 && (head[0] & 0xff) == 0xff && (head[1] & 0xe0) == 0xe0)) {
      return AudioContainer.AUDIO_CONTAINER_MP3;
    }
    return AudioContainer.AUDIO_CONTAINER_UNSPECIFIED;
  }

  /** Concatenates the tokens of stream messages, in order. */
  public static AudioTokens concat(List<StreamTokenizeResponse> responses) {
    AudioTokens.Builder all = AudioTokens.newBuilder();
    StringBuilder text = new StringBuilder();
    int groups = 0;
    synchronized (responses) {
      for (StreamTokenizeResponse r : responses) {
        AudioTokens t = r.getTokens();
        all.addAllLinguistic(t.getLinguisticList());
        all.addAllSemantic(t.getSemanticList());
        all.addAllInterleaved(t.getInterleavedList());
        text.append(t.getText());
        groups += t.getGroupCount();
      }
    }
    return all.setText(text.toString()).setGroupCount(groups).build();
  }

  /** Closes the channel (if this client opened it), waiting up to 5 s for calls to finish. */
  @Override
  public void close() {
    if (!ownsChannel) {
      return;
    }
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  private static boolean startsWith(byte[] head, String magic) {
    if (head.length < magic.length()) {
      return false;
    }
    for (int i = 0; i < magic.length(); i++) {
      if (head[i] != (byte) magic.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private static Duration requirePositive(Duration d, String name) {
    Objects.requireNonNull(d, name);
    if (d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException(name + " must be positive, got " + d);
    }
    return d;
  }

  /** Sends the config and the audio pieces as flow control allows, and collects responses. */
  private static final class Sender
      implements ClientResponseObserver<StreamTokenizeRequest, StreamTokenizeResponse> {
    private final StreamTokenizeRequest config;
    private final InputStream audio;
    private final int chunkBytes;
    private final List<StreamTokenizeResponse> responses;
    private final Consumer<StreamTokenizeResponse> onResponse;
    private final CompletableFuture<Void> done;
    private ClientCallStreamObserver<StreamTokenizeRequest> requests;
    private boolean configSent;
    private boolean finished;
    volatile IOException readFailure;

    Sender(
        StreamTokenizeRequest config,
        InputStream audio,
        int chunkBytes,
        List<StreamTokenizeResponse> responses,
        Consumer<StreamTokenizeResponse> onResponse,
        CompletableFuture<Void> done) {
      this.config = config;
      this.audio = audio;
      this.chunkBytes = chunkBytes;
      this.responses = responses;
      this.onResponse = onResponse;
      this.done = done;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<StreamTokenizeRequest> requestStream) {
      this.requests = requestStream;
      requestStream.setOnReadyHandler(this::pump);
    }

    private synchronized void pump() {
      if (finished || done.isDone()) {
        return;
      }
      try {
        while (requests.isReady()) {
          if (!configSent) {
            requests.onNext(config);
            configSent = true;
            continue;
          }
          byte[] piece = audio.readNBytes(chunkBytes);
          if (piece.length == 0) {
            finished = true;
            requests.onCompleted();
            return;
          }
          requests.onNext(
              StreamTokenizeRequest.newBuilder().setAudio(ByteString.copyFrom(piece)).build());
        }
      } catch (IOException e) {
        readFailure = e;
        cancel("reading the audio failed");
      } catch (RuntimeException e) {
        cancel("sending failed: " + e);
      }
    }

    synchronized void cancel(String why) {
      if (!finished) {
        finished = true;
        requests.cancel(why, null);
      }
    }

    @Override
    public void onNext(StreamTokenizeResponse response) {
      responses.add(response);
      if (onResponse != null) {
        onResponse.accept(response);
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
  }

  /** Settings of a {@link VoxgateClient}. */
  public static final class Builder {
    private final String address;
    private Duration timeout = DEFAULT_TIMEOUT;
    private Duration streamTimeout = DEFAULT_STREAM_TIMEOUT;
    private int maxInboundMessageBytes = DEFAULT_MAX_INBOUND_MESSAGE_BYTES;
    private boolean waitForReady = true;
    private Map<String, ?> serviceConfig;
    private boolean replaceServiceConfig;
    private boolean tls;
    private Path tlsCa;
    private Path tlsCert;
    private Path tlsKey;
    private String tlsServerName;
    private BearerToken token;

    private Builder(String address) {
      this.address = Objects.requireNonNull(address, "address");
      if (address.isBlank()) {
        throw new IllegalArgumentException("address must be host:port");
      }
    }

    /** Deadline of each unary call (Tokenize, Detokenize, GetServerInfo). */
    public Builder timeout(Duration timeout) {
      this.timeout = requirePositive(timeout, "timeout");
      return this;
    }

    /**
     * Deadline of each streaming call (StreamTokenize, Synthesize, StreamSynthesize), from its
     * start to the final message, and of a whole Chat conversation.
     */
    public Builder streamTimeout(Duration streamTimeout) {
      this.streamTimeout = requirePositive(streamTimeout, "streamTimeout");
      return this;
    }

    /** Largest response message accepted (default 64 MiB). */
    public Builder maxInboundMessageBytes(int bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("maxInboundMessageBytes must be positive");
      }
      this.maxInboundMessageBytes = bytes;
      return this;
    }

    /**
     * Whether calls wait for the server (default {@code true}, as the published service config
     * says): with it, a call made while the server is unreachable (down, restarting, draining)
     * waits for a connection until its deadline; without it, it fails at once with UNAVAILABLE,
     * as a command-line tool wants.
     */
    public Builder waitForReady(boolean waitForReady) {
      this.waitForReady = waitForReady;
      return this;
    }

    /**
     * Replaces the published service config ({@link VoxgateClient#serviceConfig(boolean)}) with
     * {@code config} (the map form of a gRPC service config), or with none when {@code null} (no
     * retries, no wait-for-ready). Overrides {@link #waitForReady(boolean)}.
     */
    public Builder serviceConfig(Map<String, ?> config) {
      this.serviceConfig = config;
      this.replaceServiceConfig = true;
      return this;
    }

    /**
     * Connects over TLS (default: plaintext), trusting the system's roots unless {@link #tlsCa}
     * names a CA. A server that fails the handshake (an untrusted certificate, or one requiring a
     * client certificate that is not given) or a plaintext client of a TLS port gets UNAVAILABLE.
     */
    public Builder tls() {
      this.tls = true;
      return this;
    }

    /** Connects over TLS, trusting the CA certificate(s) in this PEM file instead of the system's. */
    public Builder tlsCa(Path caPem) {
      this.tlsCa = Objects.requireNonNull(caPem, "caPem");
      this.tls = true;
      return this;
    }

    /**
     * Connects over TLS, presenting this client certificate (PEM, a chain) and its private key
     * (PEM, PKCS#8) to servers that require one (mutual TLS: voxgate serve {@code
     * --tls-client-ca}).
     */
    public Builder tlsClientCertificate(Path certPem, Path keyPem) {
      this.tlsCert = Objects.requireNonNull(certPem, "certPem");
      this.tlsKey = Objects.requireNonNull(keyPem, "keyPem");
      this.tls = true;
      return this;
    }

    /**
     * Connects over TLS and checks the server's certificate for this name instead of the
     * address's host (it is also sent as the call's authority).
     */
    public Builder tlsServerName(String serverName) {
      this.tlsServerName = Objects.requireNonNull(serverName, "serverName");
      this.tls = true;
      return this;
    }

    /**
     * Sends {@code authorization: Bearer <token>} with every call ({@link BearerToken}); {@code
     * null} sends none. It is sent on plaintext channels too (for a mesh sidecar that does the
     * TLS), but a token on a plaintext channel is readable by anyone on the path: use TLS. A
     * missing or unknown token fails calls with UNAUTHENTICATED, a tenant calling a service it
     * may not with PERMISSION_DENIED ({@link VoxgateException}).
     */
    public Builder token(String token) {
      this.token = token == null ? null : new BearerToken(token);
      return this;
    }

    /** The channel credentials of these settings. */
    private ChannelCredentials credentials() {
      ChannelCredentials creds;
      if (tls) {
        TlsChannelCredentials.Builder t = TlsChannelCredentials.newBuilder();
        try {
          if (tlsCa != null) {
            t.trustManager(tlsCa.toFile());
          }
          if (tlsCert != null) {
            t.keyManager(tlsCert.toFile(), tlsKey.toFile());
          }
        } catch (IOException e) {
          throw new UncheckedIOException("TLS: cannot read " + e.getMessage(), e);
        }
        creds = t.build();
      } else {
        creds = InsecureChannelCredentials.create();
      }
      return token == null ? creds : CompositeChannelCredentials.create(creds, token);
    }

    /**
     * Opens the (lazy) channel.
     *
     * @throws UncheckedIOException when a TLS file cannot be read
     * @throws IllegalArgumentException when a TLS file holds no valid PEM certificate or key
     */
    public VoxgateClient build() {
      ManagedChannelBuilder<?> b;
      try {
        b = Grpc.newChannelBuilder(address, credentials());
      } catch (ManagedChannelRegistry.ProviderNotFoundException e) {
        // How grpc-java reports TLS files it cannot use (e.g. no PEM certificate in the CA file).
        throw new IllegalArgumentException("TLS: " + e.getMessage(), e);
      }
      b.maxInboundMessageSize(maxInboundMessageBytes);
      if (tlsServerName != null) {
        b.overrideAuthority(tlsServerName);
      }
      Map<String, ?> config =
          replaceServiceConfig ? serviceConfig : VoxgateClient.serviceConfig(waitForReady);
      if (config != null) {
        b.defaultServiceConfig(config).enableRetry();
      }
      return new VoxgateClient(b.build(), true, timeout, streamTimeout);
    }
  }
}

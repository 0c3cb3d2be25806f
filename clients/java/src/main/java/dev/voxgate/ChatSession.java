package dev.voxgate;

import com.google.protobuf.ByteString;
import dev.voxgate.v1.ChatRequest;
import dev.voxgate.v1.ChatResponse;
import dev.voxgate.v1.Interrupt;
import dev.voxgate.v1.Playback;
import dev.voxgate.v1.UserInput;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One conversation: a ChatService.Chat call (bidirectional streaming). Made by {@link
 * VoxgateClient#chat(dev.voxgate.v1.ChatConfig)}, which sends the config first.
 *
 * <p><b>Sending.</b> {@link #sendText}, {@link #sendAudio}, {@link #endTurn}, {@link
 * #sendTextTurn}, {@link #interrupt}, {@link #ackPlayback} and {@link #send} may be called from
 * any thread, also from an observer's callbacks; they never block (gRPC buffers what the network
 * cannot take yet). They throw the {@link VoxgateException} the call ended with, or {@link
 * IllegalStateException} after the end, {@link #closeSend()} or {@link #close()}.
 *
 * <p><b>Receiving</b>, one of two ways, chosen when the session is made:
 *
 * <ul>
 *   <li>Asynchronously: {@link VoxgateClient#chat(dev.voxgate.v1.ChatConfig, StreamObserver)}
 *       delivers every {@link ChatResponse} to a {@link StreamObserver} on gRPC threads (it must
 *       not block); a failure arrives in {@code onError} as a {@link VoxgateException}, the end of
 *       the conversation in {@code onCompleted}.
 *   <li>Blocking: {@link VoxgateClient#chat(dev.voxgate.v1.ChatConfig)} buffers the messages;
 *       read them with {@link #receive()}, {@link #awaitReply()}, or the one-turn conveniences
 *       {@link #turn(String)} and {@link #turn(InputStream, int)}, which send a whole user turn
 *       and return the {@link ChatReply}. One thread at a time reads.
 * </ul>
 *
 * <p>The conversation ends when the client half-closes ({@link #closeSend()}: the reply in
 * progress is finished first; {@link #finish()} also reads the rest), on an error status, at the
 * deadline (the client's stream timeout), or on {@link #close()}, which cancels the call. Use
 * try-with-resources.
 *
 * <pre>{@code
 * ChatConfig config = ChatConfig.newBuilder().setMaxReplyTokens(64).build();
 * try (ChatSession chat = client.chat(config)) {
 *   ChatReply reply = chat.turn("What is the capital of France?");
 *   System.out.println(reply.getText());
 *   Files.write(Path.of("reply.wav"), reply.getAudio());
 *   chat.finish();
 * }
 * }</pre>
 */
public final class ChatSession implements AutoCloseable {
  /** The default piece size of {@link #turn(InputStream, int)}'s audio. */
  public static final int DEFAULT_CHUNK_BYTES = 32 * 1024;

  private static final Object END = new Object();

  private final Object lock = new Object();
  /** The buffered messages (blocking mode); null with an observer. */
  private final BlockingQueue<Object> queue;
  /** The caller's observer (asynchronous mode); null when buffering. */
  private final StreamObserver<ChatResponse> observer;

  private ClientCallStreamObserver<ChatRequest> requests;
  private boolean halfClosed;
  private boolean cancelled;
  private volatile boolean finished;
  private volatile VoxgateException failure;
  /** The blocking reader has seen the end. */
  private boolean endSeen;

  ChatSession(StreamObserver<ChatResponse> observer) {
    this.observer = observer;
    this.queue = observer == null ? new LinkedBlockingQueue<>() : null;
  }

  /** The observer of the call that feeds this session. */
  ClientResponseObserver<ChatRequest, ChatResponse> responseObserver() {
    return new ClientResponseObserver<>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<ChatRequest> requestStream) {
        synchronized (lock) {
          requests = requestStream;
        }
        requestStream.setOnReadyHandler(ChatSession.this::wake);
      }

      @Override
      public void onNext(ChatResponse value) {
        if (observer != null) {
          observer.onNext(value);
        } else {
          queue.add(value);
        }
      }

      @Override
      public void onError(Throwable t) {
        VoxgateException e = VoxgateException.from(t);
        failure = e;
        finished = true;
        wake();
        if (observer != null) {
          observer.onError(e);
        } else {
          queue.add(e);
        }
      }

      @Override
      public void onCompleted() {
        finished = true;
        wake();
        if (observer != null) {
          observer.onCompleted();
        } else {
          queue.add(END);
        }
      }
    };
  }

  private void wake() {
    synchronized (lock) {
      lock.notifyAll();
    }
  }

  // ---------------------------------------------------------------- sending

  /** Sends any request (the config was sent when the session was made). */
  public void send(ChatRequest request) {
    Objects.requireNonNull(request, "request");
    synchronized (lock) {
      checkOpen();
      requests.onNext(request);
    }
  }

  /** Sends a piece of a user turn: text or audio, and/or the end of the turn. */
  public void sendInput(UserInput input) {
    send(ChatRequest.newBuilder().setInput(input).build());
  }

  /** Sends a piece of typed text of the current user turn ({@link #endTurn()} ends it). */
  public void sendText(String text) {
    sendInput(UserInput.newBuilder().setText(text).build());
  }

  /**
   * Sends a piece of the user's speech in the configured input format (ChatConfig.input_format;
   * without one the server ends the call with INVALID_ARGUMENT).
   */
  public void sendAudio(byte[] piece) {
    sendAudio(ByteString.copyFrom(piece));
  }

  /** Sends a piece of the user's speech; see {@link #sendAudio(byte[])}. */
  public void sendAudio(ByteString piece) {
    sendInput(UserInput.newBuilder().setAudio(piece).build());
  }

  /**
   * Ends the user turn; the assistant replies. Ends every text turn, and spoken turns in MANUAL
   * turn detection (with SERVER_VAD it ends a turn the server has not ended yet).
   */
  public void endTurn() {
    sendInput(UserInput.newBuilder().setEndOfTurn(true).build());
  }

  /** Sends a whole typed user turn: the text and the end of the turn, in one message. */
  public void sendTextTurn(String text) {
    sendInput(UserInput.newBuilder().setText(text).setEndOfTurn(true).build());
  }

  /** Stops the reply in progress (barge-in); its TurnEnd says interrupted. */
  public void interrupt() {
    send(ChatRequest.newBuilder().setInterrupt(Interrupt.getDefaultInstance()).build());
  }

  /**
   * Tells the server how much of reply {@code turnIndex}'s audio the user has heard, in ms from
   * its start; after an interruption the history keeps only the words heard.
   */
  public void ackPlayback(int turnIndex, long playedMs) {
    send(
        ChatRequest.newBuilder()
            .setPlayback(Playback.newBuilder().setTurnIndex(turnIndex).setPlayedMs(playedMs))
            .build());
  }

  /**
   * Ends the client's side of the conversation: the server finishes the reply in progress, then
   * ends the call. A no-op after the end or a second time.
   */
  public void closeSend() {
    synchronized (lock) {
      if (halfClosed || cancelled || finished) {
        return;
      }
      halfClosed = true;
      requests.onCompleted();
    }
  }

  /** Cancels the call if it is still running (the server sees CANCELLED). */
  @Override
  public void close() {
    synchronized (lock) {
      if (!finished && !cancelled) {
        cancelled = true;
        requests.cancel("closed by the client", null);
      }
    }
  }

  /** Whether the call has ended (completed, failed or cancelled). */
  public boolean isFinished() {
    return finished;
  }

  /** The error the call ended with; null while it runs or when it ended OK. */
  public VoxgateException getFailure() {
    return failure;
  }

  /** Sends once the call can take more without buffering (or has ended); on a caller's thread. */
  private void sendWhenReady(ChatRequest request) throws InterruptedException {
    synchronized (lock) {
      while (!finished && !cancelled && !halfClosed && !requests.isReady()) {
        lock.wait(100); // woken by the onReady handler or the end of the call
      }
      checkOpen();
      requests.onNext(request);
    }
  }

  private void checkOpen() {
    VoxgateException f = failure;
    if (f != null) {
      throw new VoxgateException(f.getCode(), f.getStatusMessage(), f);
    }
    if (finished) {
      throw new IllegalStateException("the conversation has ended");
    }
    if (cancelled) {
      throw new IllegalStateException("the chat session was closed");
    }
    if (halfClosed) {
      throw new IllegalStateException("send after closeSend()");
    }
  }

  // ---------------------------------------------------------------- blocking receiving

  /**
   * Waits for the next message of the server; null once the conversation has ended OK. Throws
   * the {@link VoxgateException} it ended with otherwise.
   */
  public ChatResponse receive() {
    if (queue == null) {
      throw new IllegalStateException("this chat session delivers its messages to an observer");
    }
    if (endSeen) {
      VoxgateException f = failure;
      if (f != null) {
        throw new VoxgateException(f.getCode(), f.getStatusMessage(), f);
      }
      return null;
    }
    Object next;
    try {
      next = queue.take();
    } catch (InterruptedException e) {
      close();
      Thread.currentThread().interrupt();
      throw new VoxgateException(Status.Code.CANCELLED, "interrupted", e);
    }
    if (next == END) {
      endSeen = true;
      return null;
    }
    if (next instanceof VoxgateException) {
      endSeen = true;
      VoxgateException f = (VoxgateException) next;
      throw new VoxgateException(f.getCode(), f.getStatusMessage(), f);
    }
    return (ChatResponse) next;
  }

  /**
   * Reads the server's messages up to the next TurnEnd and combines them (e.g. after speech that
   * the server's turn detection ended).
   *
   * @throws VoxgateException when the call fails
   * @throws IllegalStateException when the conversation ends OK before a TurnEnd
   */
  public ChatReply awaitReply() {
    List<ChatResponse> messages = new ArrayList<>();
    for (; ; ) {
      ChatResponse r = receive();
      if (r == null) {
        throw new IllegalStateException("the conversation ended before the reply's TurnEnd");
      }
      messages.add(r);
      if (r.hasTurnEnd()) {
        return ChatReply.of(messages);
      }
    }
  }

  /** Sends a typed user turn and waits for the whole reply. */
  public ChatReply turn(String text) {
    sendTextTurn(text);
    return awaitReply();
  }

  /**
   * Sends a spoken user turn, the speech read from {@code audio} (in the configured input format,
   * e.g. a WAV file) in pieces of {@code chunkBytes}, then the end of the turn, and waits for the
   * whole reply. Meant for MANUAL turn detection (with SERVER_VAD the server may end the turn
   * before all of the audio is sent). A failure reading {@code audio} cancels the call.
   */
  public ChatReply turn(InputStream audio, int chunkBytes) throws IOException {
    return turn(null, audio, chunkBytes);
  }

  /**
   * Sends a user turn of typed text (may be null or empty) followed by speech read from {@code
   * audio} (may be null), then the end of the turn, and waits for the whole reply. See {@link
   * #turn(InputStream, int)}.
   */
  public ChatReply turn(String text, InputStream audio, int chunkBytes) throws IOException {
    if (audio == null) {
      if (text == null || text.isEmpty()) {
        throw new IllegalArgumentException("a turn needs text or audio");
      }
      return turn(text);
    }
    if (chunkBytes <= 0) {
      throw new IllegalArgumentException("chunkBytes must be positive, got " + chunkBytes);
    }
    try {
      if (text != null && !text.isEmpty()) {
        sendWhenReady(ChatRequest.newBuilder().setInput(UserInput.newBuilder().setText(text)).build());
      }
      for (; ; ) {
        byte[] piece;
        try {
          piece = audio.readNBytes(chunkBytes);
        } catch (IOException e) {
          close();
          throw e;
        }
        if (piece.length == 0) {
          break;
        }
        sendWhenReady(
            ChatRequest.newBuilder()
                .setInput(UserInput.newBuilder().setAudio(ByteString.copyFrom(piece)))
                .build());
      }
      sendWhenReady(
          ChatRequest.newBuilder().setInput(UserInput.newBuilder().setEndOfTurn(true)).build());
    } catch (InterruptedException e) {
      close();
      Thread.currentThread().interrupt();
      throw new VoxgateException(Status.Code.CANCELLED, "interrupted", e);
    } catch (IllegalStateException e) {
      // The call ended while sending: its status (if it failed) is what the reply's reading
      // reports.
      if (!finished) {
        throw e;
      }
    }
    return awaitReply();
  }

  /**
   * Ends the conversation cleanly: {@link #closeSend()}, then reads the rest of it (the end of a
   * reply in progress) until the call ends. Returns the messages read.
   *
   * @throws VoxgateException when the call ended with an error
   */
  public List<ChatResponse> finish() {
    closeSend();
    List<ChatResponse> rest = new ArrayList<>();
    for (ChatResponse r = receive(); r != null; r = receive()) {
      rest.add(r);
    }
    return rest;
  }
}

package dev.voxgate;

import dev.voxgate.v1.SynthesizeResponse;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Function;

/**
 * The pieces of a Synthesize or StreamSynthesize call as a blocking {@link Iterator}: each
 * {@link #next()} waits for the next {@link SynthesizeResponse}; the last one has {@code final}
 * set. A failed call throws {@link VoxgateException} from {@link #hasNext()} / {@link #next()}.
 *
 * <p>Pieces are requested from the server one at a time as they are consumed (flow control), so
 * a slow reader slows the server down instead of buffering audio. {@link #close()} cancels the
 * call if it is still running; use try-with-resources when you may stop reading early.
 *
 * <pre>{@code
 * try (SynthesisStream pieces = client.synthesize("Hello there.")) {
 *   while (pieces.hasNext()) {
 *     SynthesizeResponse p = pieces.next();
 *     play(p.getAudio().getData());
 *   }
 * }
 * }</pre>
 */
public final class SynthesisStream implements Iterator<SynthesizeResponse>, AutoCloseable {
  private static final Object END = new Object();

  private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
  private final Object lock = new Object();
  private ClientCallStreamObserver<?> call;
  private Object head;
  private boolean done;
  private volatile boolean finished;
  private volatile RuntimeException senderFailure;

  SynthesisStream() {}

  /** An observer for the call that feeds this stream; {@code unwrap} maps each response. */
  <ReqT, RespT> ClientResponseObserver<ReqT, RespT> observer(
      Function<RespT, SynthesizeResponse> unwrap, Runnable onReady) {
    return new ClientResponseObserver<>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<ReqT> requestStream) {
        synchronized (lock) {
          call = requestStream;
        }
        requestStream.disableAutoRequestWithInitial(1);
        if (onReady != null) {
          requestStream.setOnReadyHandler(onReady);
        }
      }

      @Override
      public void onNext(RespT value) {
        queue.add(unwrap.apply(value));
      }

      @Override
      public void onError(Throwable t) {
        finished = true;
        queue.add(t);
        if (onReady != null) {
          onReady.run(); // wakes a sender waiting for the stream to become ready
        }
      }

      @Override
      public void onCompleted() {
        finished = true;
        queue.add(END);
        if (onReady != null) {
          onReady.run();
        }
      }
    };
  }

  /** Whether the call has ended (completed, failed or cancelled). */
  boolean isFinished() {
    return finished;
  }

  /** Records a failure of the sending side (e.g. the text iterator threw) and cancels the call. */
  void failSending(RuntimeException e) {
    senderFailure = e;
    cancel("sending the text failed: " + e, e);
  }

  @Override
  public boolean hasNext() {
    if (head == null) {
      if (done) {
        return false;
      }
      try {
        head = queue.take();
      } catch (InterruptedException e) {
        cancel("interrupted", e);
        Thread.currentThread().interrupt();
        throw new VoxgateException(Status.Code.CANCELLED, "interrupted", e);
      }
    }
    if (head == END) {
      done = true;
      head = null;
      return false;
    }
    if (head instanceof Throwable) {
      done = true;
      Throwable t = (Throwable) head;
      head = null;
      if (senderFailure != null) {
        throw senderFailure;
      }
      throw VoxgateException.from(t);
    }
    return true;
  }

  @Override
  public SynthesizeResponse next() {
    if (!hasNext()) {
      throw new NoSuchElementException("the synthesis stream has ended");
    }
    SynthesizeResponse r = (SynthesizeResponse) head;
    head = null;
    synchronized (lock) {
      if (call != null) {
        call.request(1); // the next piece, or (after the final one) the end of the call
      }
    }
    return r;
  }

  /** Reads every remaining piece and combines them; closes the stream. */
  public SynthesisResult collect() {
    List<SynthesizeResponse> pieces = new ArrayList<>();
    try {
      while (hasNext()) {
        pieces.add(next());
      }
    } finally {
      close();
    }
    return SynthesisResult.of(pieces);
  }

  /** Cancels the call if it is still running. */
  @Override
  public void close() {
    if (!finished) {
      cancel("closed by the client", null);
    }
  }

  private void cancel(String why, Throwable cause) {
    synchronized (lock) {
      if (call != null && !finished) {
        call.cancel(why, cause);
      }
    }
  }

  /** The monitor that guards sending on the call (see VoxgateClient.streamSynthesize). */
  Object lock() {
    return lock;
  }

  /** The request side of the call; only while holding {@link #lock()}. */
  @SuppressWarnings("unchecked")
  <ReqT> ClientCallStreamObserver<ReqT> requests() {
    return (ClientCallStreamObserver<ReqT>) call;
  }
}

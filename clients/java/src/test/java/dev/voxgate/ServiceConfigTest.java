package dev.voxgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.voxgate.v1.AudioInput;
import dev.voxgate.v1.DiscoveryServiceGrpc;
import dev.voxgate.v1.GetServerInfoRequest;
import dev.voxgate.v1.GetServerInfoResponse;
import dev.voxgate.v1.SynthesisServiceGrpc;
import dev.voxgate.v1.SynthesizeRequest;
import dev.voxgate.v1.SynthesizeResponse;
import dev.voxgate.v1.TokenizeRequest;
import dev.voxgate.v1.TokenizeResponse;
import dev.voxgate.v1.TokenizerServiceGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The published service config (the builder's default) at work: wait-for-ready against a port
 * where the server starts listening late (a TCP relay to the live voxgate), and the retry policy
 * against an in-process server that answers UNAVAILABLE.
 */
class ServiceConfigTest {
  private static final Metadata.Key<String> PREVIOUS_ATTEMPTS =
      Metadata.Key.of("grpc-previous-rpc-attempts", Metadata.ASCII_STRING_MARSHALLER);

  /** A loopback port that nothing listens on (the kernel just handed it out). */
  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Accepts connections on {@code listener} and copies bytes both ways to host:port. */
  private static void relay(ServerSocket listener, String target) {
    int colon = target.lastIndexOf(':');
    String host = target.substring(0, colon);
    int port = Integer.parseInt(target.substring(colon + 1));
    Thread acceptor =
        new Thread(
            () -> {
              while (!listener.isClosed()) {
                try {
                  Socket in = listener.accept();
                  Socket out = new Socket(host, port);
                  pipe(in, out);
                  pipe(out, in);
                } catch (IOException e) {
                  return;
                }
              }
            },
            "relay-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  private static void pipe(Socket from, Socket to) {
    Thread t =
        new Thread(
            () -> {
              try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                in.transferTo(out);
              } catch (IOException e) {
                // the other side closed
              } finally {
                try {
                  from.close();
                  to.close();
                } catch (IOException e) {
                  // ignore
                }
              }
            },
            "relay-pipe");
    t.setDaemon(true);
    t.start();
  }

  @Test
  void waitForReadyCallSucceedsOnceTheServerListens() throws Exception {
    LiveServer live = LiveServer.fromEnvironment();
    int port = freePort();
    try (VoxgateClient client =
        VoxgateClient.builder("127.0.0.1:" + port)
            .timeout(Duration.ofSeconds(60))
            .streamTimeout(Duration.ofSeconds(120))
            .build()) {
      CompletableFuture<GetServerInfoResponse> info = CompletableFuture.supplyAsync(client::getServerInfo);
      CompletableFuture<SynthesisResult> speech =
          CompletableFuture.supplyAsync(() -> client.synthesize("Hello there.").collect());
      Thread.sleep(2000); // the channel has tried, and failed, to connect by now
      assertFalse(info.isDone(), "GetServerInfo ended before anything listened: " + info);
      assertFalse(speech.isDone(), "Synthesize ended before anything listened: " + speech);

      try (ServerSocket listener = new ServerSocket()) {
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        relay(listener, live.address());
        assertEquals(5120, info.get(60, TimeUnit.SECONDS).getTokenSpec().getVocabularySize());
        SynthesisResult r = speech.get(120, TimeUnit.SECONDS);
        assertTrue(r.isComplete(), "Synthesize did not end with a final piece");
        assertTrue(r.getGroupCount() > 0, "no audio tokens");
      }
    }
  }

  /**
   * Answers UNAVAILABLE: GetServerInfo for its first two attempts (then the live server's
   * answer), Tokenize and Synthesize always. Counts the attempts of each method.
   */
  private static final class Flaky {
    final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
    final Map<String, String> previous = new ConcurrentHashMap<>();

    int count(String method) {
      return attempts.computeIfAbsent(method, k -> new AtomicInteger()).incrementAndGet();
    }

    int attempts(String method) {
      AtomicInteger n = attempts.get(method);
      return n == null ? 0 : n.get();
    }

    void reset() {
      attempts.clear();
      previous.clear();
    }

    ServerInterceptor headers() {
      return new ServerInterceptor() {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
          String p = headers.get(PREVIOUS_ATTEMPTS);
          previous.put(call.getMethodDescriptor().getBareMethodName(), p == null ? "" : p);
          return next.startCall(call, headers);
        }
      };
    }
  }

  private static final Status DOWN = Status.UNAVAILABLE.withDescription("try again");

  @Test
  void retryPolicyRetriesIdempotentUnaryCallsOnUnavailable() throws Exception {
    LiveServer live = LiveServer.fromEnvironment();
    ManagedChannel liveChannel =
        Grpc.newChannelBuilder(live.address(), InsecureChannelCredentials.create()).build();
    DiscoveryServiceGrpc.DiscoveryServiceBlockingStub liveDiscovery =
        DiscoveryServiceGrpc.newBlockingStub(liveChannel);
    Flaky flaky = new Flaky();
    Server server =
        Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
            .maxInboundMessageSize(8 << 20)
            .addService(
                ServerInterceptors.intercept(
                    new DiscoveryServiceGrpc.DiscoveryServiceImplBase() {
                      @Override
                      public void getServerInfo(
                          GetServerInfoRequest req, StreamObserver<GetServerInfoResponse> out) {
                        if (flaky.count("GetServerInfo") <= 2) {
                          out.onError(DOWN.asRuntimeException());
                          return;
                        }
                        out.onNext(liveDiscovery.withDeadlineAfter(30, TimeUnit.SECONDS).getServerInfo(req));
                        out.onCompleted();
                      }
                    },
                    flaky.headers()))
            .addService(
                ServerInterceptors.intercept(
                    new TokenizerServiceGrpc.TokenizerServiceImplBase() {
                      @Override
                      public void tokenize(TokenizeRequest req, StreamObserver<TokenizeResponse> out) {
                        flaky.count("Tokenize");
                        out.onError(DOWN.asRuntimeException());
                      }
                    },
                    flaky.headers()))
            .addService(
                ServerInterceptors.intercept(
                    new SynthesisServiceGrpc.SynthesisServiceImplBase() {
                      @Override
                      public void synthesize(SynthesizeRequest req, StreamObserver<SynthesizeResponse> out) {
                        flaky.count("Synthesize");
                        out.onError(DOWN.asRuntimeException());
                      }
                    },
                    flaky.headers()))
            .build()
            .start();
    String address = "127.0.0.1:" + server.getPort();
    try (VoxgateClient client = VoxgateClient.builder(address).timeout(Duration.ofSeconds(30)).build();
        VoxgateClient bare =
            VoxgateClient.builder(address).timeout(Duration.ofSeconds(30)).serviceConfig(null).build()) {
      // Two UNAVAILABLE answers, then the live server's: the call succeeds on its third attempt.
      assertEquals(5120, client.getServerInfo().getTokenSpec().getVocabularySize());
      assertEquals(3, flaky.attempts("GetServerInfo"));
      assertEquals("2", flaky.previous.get("GetServerInfo"));

      // Always UNAVAILABLE: maxAttempts (4) attempts, then the last status.
      VoxgateException e =
          assertThrows(VoxgateException.class, () -> client.tokenize(new byte[1000], false));
      assertEquals(Status.Code.UNAVAILABLE, e.getCode(), e.toString());
      assertEquals(4, flaky.attempts("Tokenize"));
      assertEquals("3", flaky.previous.get("Tokenize"));

      // Synthesize has no retry policy: one attempt.
      e = assertThrows(VoxgateException.class, () -> client.synthesize("Hello.").collect());
      assertEquals(Status.Code.UNAVAILABLE, e.getCode(), e.toString());
      assertEquals(1, flaky.attempts("Synthesize"));

      // A request beyond grpc-java's per-call retry buffer (1 MiB) is not retried.
      flaky.reset();
      TokenizeRequest big =
          TokenizeRequest.newBuilder()
              .setAudio(AudioInput.newBuilder().setContainer(ByteString.copyFrom(new byte[2 << 20])))
              .build();
      e = assertThrows(VoxgateException.class, () -> client.tokenize(big));
      assertEquals(Status.Code.UNAVAILABLE, e.getCode(), e.toString());
      assertEquals(1, flaky.attempts("Tokenize"));

      // Without the service config there are no retries: the policy above is the config's.
      flaky.reset();
      e = assertThrows(VoxgateException.class, () -> bare.tokenize(new byte[1000], false));
      assertEquals(Status.Code.UNAVAILABLE, e.getCode(), e.toString());
      assertEquals(1, flaky.attempts("Tokenize"));
    } finally {
      server.shutdownNow();
      liveChannel.shutdownNow();
    }
  }
}

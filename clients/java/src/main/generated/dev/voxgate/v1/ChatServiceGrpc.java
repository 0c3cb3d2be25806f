package dev.voxgate.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * Multi-turn spoken conversation: speech or text in, text and speech out.
 * Errors of every RPC: UNIMPLEMENTED (no chat model is deployed on this server), UNAVAILABLE,
 * DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (server busy: with a google.rpc.RetryInfo
 * delay), INTERNAL; with token auth on, UNAUTHENTICATED (no or unknown bearer token) and
 * PERMISSION_DENIED (the token's tenant may not call this service).
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class ChatServiceGrpc {

  private ChatServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "voxgate.v1.ChatService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.voxgate.v1.ChatRequest,
      dev.voxgate.v1.ChatResponse> getChatMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Chat",
      requestType = dev.voxgate.v1.ChatRequest.class,
      responseType = dev.voxgate.v1.ChatResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
  public static io.grpc.MethodDescriptor<dev.voxgate.v1.ChatRequest,
      dev.voxgate.v1.ChatResponse> getChatMethod() {
    io.grpc.MethodDescriptor<dev.voxgate.v1.ChatRequest, dev.voxgate.v1.ChatResponse> getChatMethod;
    if ((getChatMethod = ChatServiceGrpc.getChatMethod) == null) {
      synchronized (ChatServiceGrpc.class) {
        if ((getChatMethod = ChatServiceGrpc.getChatMethod) == null) {
          ChatServiceGrpc.getChatMethod = getChatMethod =
              io.grpc.MethodDescriptor.<dev.voxgate.v1.ChatRequest, dev.voxgate.v1.ChatResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Chat"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.ChatRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.ChatResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ChatServiceMethodDescriptorSupplier("Chat"))
              .build();
        }
      }
    }
    return getChatMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static ChatServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ChatServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ChatServiceStub>() {
        @java.lang.Override
        public ChatServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ChatServiceStub(channel, callOptions);
        }
      };
    return ChatServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static ChatServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ChatServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ChatServiceBlockingV2Stub>() {
        @java.lang.Override
        public ChatServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ChatServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return ChatServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static ChatServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ChatServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ChatServiceBlockingStub>() {
        @java.lang.Override
        public ChatServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ChatServiceBlockingStub(channel, callOptions);
        }
      };
    return ChatServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static ChatServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ChatServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ChatServiceFutureStub>() {
        @java.lang.Override
        public ChatServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ChatServiceFutureStub(channel, callOptions);
        }
      };
    return ChatServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * Multi-turn spoken conversation: speech or text in, text and speech out.
   * Errors of every RPC: UNIMPLEMENTED (no chat model is deployed on this server), UNAVAILABLE,
   * DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (server busy: with a google.rpc.RetryInfo
   * delay), INTERNAL; with token auth on, UNAUTHENTICATED (no or unknown bearer token) and
   * PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * One conversation per stream. The first message carries the config. Then the client sends
     * user input at any time, even while the assistant replies: text pieces, and audio pieces in
     * the configured input format. A user turn ends when the server's voice activity detection
     * hears the user stop (turn detection SERVER_VAD, the default for audio), or at the client's
     * `end_of_turn` (MANUAL, and always for text). After each user turn the server streams the
     * reply: text deltas, audio pieces (unless `text_only`), then a TurnEnd. While audio flows,
     * the server also sends interim and final transcripts, and in SERVER_VAD speech_started /
     * speech_stopped.
     * Barge-in: user speech heard during a reply (SERVER_VAD), or an `interrupt`, stops the reply
     * at once (its language model and speech generator are cancelled), and its TurnEnd says
     * `interrupted` and what the user heard (from `playback` acknowledgements; else what was
     * sent). The history keeps only what was heard. The stream ends when the client closes its
     * side (the reply in progress is finished first) or cancels.
     * Errors: INVALID_ARGUMENT (first message not a config, a second config, a bad config field,
     * audio without `input_format` or undecodable, a playback ack for an unknown turn),
     * OUT_OF_RANGE (a user turn longer than the server's turn audio or text limit, or the
     * conversation longer than its limit), DEADLINE_EXCEEDED (no client message for the server's
     * idle limit, or the call's deadline), RESOURCE_EXHAUSTED (too many conversations on this
     * server), UNIMPLEMENTED, UNAVAILABLE, CANCELLED.
     * </pre>
     */
    default io.grpc.stub.StreamObserver<dev.voxgate.v1.ChatRequest> chat(
        io.grpc.stub.StreamObserver<dev.voxgate.v1.ChatResponse> responseObserver) {
      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall(getChatMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service ChatService.
   * <pre>
   * Multi-turn spoken conversation: speech or text in, text and speech out.
   * Errors of every RPC: UNIMPLEMENTED (no chat model is deployed on this server), UNAVAILABLE,
   * DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (server busy: with a google.rpc.RetryInfo
   * delay), INTERNAL; with token auth on, UNAUTHENTICATED (no or unknown bearer token) and
   * PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static abstract class ChatServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return ChatServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service ChatService.
   * <pre>
   * Multi-turn spoken conversation: speech or text in, text and speech out.
   * Errors of every RPC: UNIMPLEMENTED (no chat model is deployed on this server), UNAVAILABLE,
   * DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (server busy: with a google.rpc.RetryInfo
   * delay), INTERNAL; with token auth on, UNAUTHENTICATED (no or unknown bearer token) and
   * PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static final class ChatServiceStub
      extends io.grpc.stub.AbstractAsyncStub<ChatServiceStub> {
    private ChatServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ChatServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ChatServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * One conversation per stream. The first message carries the config. Then the client sends
     * user input at any time, even while the assistant replies: text pieces, and audio pieces in
     * the configured input format. A user turn ends when the server's voice activity detection
     * hears the user stop (turn detection SERVER_VAD, the default for audio), or at the client's
     * `end_of_turn` (MANUAL, and always for text). After each user turn the server streams the
     * reply: text deltas, audio pieces (unless `text_only`), then a TurnEnd. While audio flows,
     * the server also sends interim and final transcripts, and in SERVER_VAD speech_started /
     * speech_stopped.
     * Barge-in: user speech heard during a reply (SERVER_VAD), or an `interrupt`, stops the reply
     * at once (its language model and speech generator are cancelled), and its TurnEnd says
     * `interrupted` and what the user heard (from `playback` acknowledgements; else what was
     * sent). The history keeps only what was heard. The stream ends when the client closes its
     * side (the reply in progress is finished first) or cancels.
     * Errors: INVALID_ARGUMENT (first message not a config, a second config, a bad config field,
     * audio without `input_format` or undecodable, a playback ack for an unknown turn),
     * OUT_OF_RANGE (a user turn longer than the server's turn audio or text limit, or the
     * conversation longer than its limit), DEADLINE_EXCEEDED (no client message for the server's
     * idle limit, or the call's deadline), RESOURCE_EXHAUSTED (too many conversations on this
     * server), UNIMPLEMENTED, UNAVAILABLE, CANCELLED.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<dev.voxgate.v1.ChatRequest> chat(
        io.grpc.stub.StreamObserver<dev.voxgate.v1.ChatResponse> responseObserver) {
      return io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
          getChannel().newCall(getChatMethod(), getCallOptions()), responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service ChatService.
   * <pre>
   * Multi-turn spoken conversation: speech or text in, text and speech out.
   * Errors of every RPC: UNIMPLEMENTED (no chat model is deployed on this server), UNAVAILABLE,
   * DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (server busy: with a google.rpc.RetryInfo
   * delay), INTERNAL; with token auth on, UNAUTHENTICATED (no or unknown bearer token) and
   * PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static final class ChatServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<ChatServiceBlockingV2Stub> {
    private ChatServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ChatServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ChatServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * One conversation per stream. The first message carries the config. Then the client sends
     * user input at any time, even while the assistant replies: text pieces, and audio pieces in
     * the configured input format. A user turn ends when the server's voice activity detection
     * hears the user stop (turn detection SERVER_VAD, the default for audio), or at the client's
     * `end_of_turn` (MANUAL, and always for text). After each user turn the server streams the
     * reply: text deltas, audio pieces (unless `text_only`), then a TurnEnd. While audio flows,
     * the server also sends interim and final transcripts, and in SERVER_VAD speech_started /
     * speech_stopped.
     * Barge-in: user speech heard during a reply (SERVER_VAD), or an `interrupt`, stops the reply
     * at once (its language model and speech generator are cancelled), and its TurnEnd says
     * `interrupted` and what the user heard (from `playback` acknowledgements; else what was
     * sent). The history keeps only what was heard. The stream ends when the client closes its
     * side (the reply in progress is finished first) or cancels.
     * Errors: INVALID_ARGUMENT (first message not a config, a second config, a bad config field,
     * audio without `input_format` or undecodable, a playback ack for an unknown turn),
     * OUT_OF_RANGE (a user turn longer than the server's turn audio or text limit, or the
     * conversation longer than its limit), DEADLINE_EXCEEDED (no client message for the server's
     * idle limit, or the call's deadline), RESOURCE_EXHAUSTED (too many conversations on this
     * server), UNIMPLEMENTED, UNAVAILABLE, CANCELLED.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<dev.voxgate.v1.ChatRequest, dev.voxgate.v1.ChatResponse>
        chat() {
      return io.grpc.stub.ClientCalls.blockingBidiStreamingCall(
          getChannel(), getChatMethod(), getCallOptions());
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service ChatService.
   * <pre>
   * Multi-turn spoken conversation: speech or text in, text and speech out.
   * Errors of every RPC: UNIMPLEMENTED (no chat model is deployed on this server), UNAVAILABLE,
   * DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (server busy: with a google.rpc.RetryInfo
   * delay), INTERNAL; with token auth on, UNAUTHENTICATED (no or unknown bearer token) and
   * PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static final class ChatServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<ChatServiceBlockingStub> {
    private ChatServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ChatServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ChatServiceBlockingStub(channel, callOptions);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service ChatService.
   * <pre>
   * Multi-turn spoken conversation: speech or text in, text and speech out.
   * Errors of every RPC: UNIMPLEMENTED (no chat model is deployed on this server), UNAVAILABLE,
   * DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (server busy: with a google.rpc.RetryInfo
   * delay), INTERNAL; with token auth on, UNAUTHENTICATED (no or unknown bearer token) and
   * PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static final class ChatServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<ChatServiceFutureStub> {
    private ChatServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ChatServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ChatServiceFutureStub(channel, callOptions);
    }
  }

  private static final int METHODID_CHAT = 0;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_CHAT:
          return (io.grpc.stub.StreamObserver<Req>) serviceImpl.chat(
              (io.grpc.stub.StreamObserver<dev.voxgate.v1.ChatResponse>) responseObserver);
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getChatMethod(),
          io.grpc.stub.ServerCalls.asyncBidiStreamingCall(
            new MethodHandlers<
              dev.voxgate.v1.ChatRequest,
              dev.voxgate.v1.ChatResponse>(
                service, METHODID_CHAT)))
        .build();
  }

  private static abstract class ChatServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    ChatServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.voxgate.v1.ChatProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("ChatService");
    }
  }

  private static final class ChatServiceFileDescriptorSupplier
      extends ChatServiceBaseDescriptorSupplier {
    ChatServiceFileDescriptorSupplier() {}
  }

  private static final class ChatServiceMethodDescriptorSupplier
      extends ChatServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    ChatServiceMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (ChatServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new ChatServiceFileDescriptorSupplier())
              .addMethod(getChatMethod())
              .build();
        }
      }
    }
    return result;
  }
}

package dev.voxgate.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * Turns speech into Step-Audio tokens and tokens back into speech.
 * Every RPC may also return UNAVAILABLE (the model server is not ready; retry with backoff),
 * DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (message over the server's size limit, or
 * the server busy: then with a google.rpc.RetryInfo delay) and INTERNAL (an unexpected fault;
 * the message never carries internal details); with token auth on, UNAUTHENTICATED (no or
 * unknown bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class TokenizerServiceGrpc {

  private TokenizerServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "voxgate.v1.TokenizerService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.voxgate.v1.TokenizeRequest,
      dev.voxgate.v1.TokenizeResponse> getTokenizeMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Tokenize",
      requestType = dev.voxgate.v1.TokenizeRequest.class,
      responseType = dev.voxgate.v1.TokenizeResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.voxgate.v1.TokenizeRequest,
      dev.voxgate.v1.TokenizeResponse> getTokenizeMethod() {
    io.grpc.MethodDescriptor<dev.voxgate.v1.TokenizeRequest, dev.voxgate.v1.TokenizeResponse> getTokenizeMethod;
    if ((getTokenizeMethod = TokenizerServiceGrpc.getTokenizeMethod) == null) {
      synchronized (TokenizerServiceGrpc.class) {
        if ((getTokenizeMethod = TokenizerServiceGrpc.getTokenizeMethod) == null) {
          TokenizerServiceGrpc.getTokenizeMethod = getTokenizeMethod =
              io.grpc.MethodDescriptor.<dev.voxgate.v1.TokenizeRequest, dev.voxgate.v1.TokenizeResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Tokenize"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.TokenizeRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.TokenizeResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TokenizerServiceMethodDescriptorSupplier("Tokenize"))
              .build();
        }
      }
    }
    return getTokenizeMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.voxgate.v1.StreamTokenizeRequest,
      dev.voxgate.v1.StreamTokenizeResponse> getStreamTokenizeMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "StreamTokenize",
      requestType = dev.voxgate.v1.StreamTokenizeRequest.class,
      responseType = dev.voxgate.v1.StreamTokenizeResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
  public static io.grpc.MethodDescriptor<dev.voxgate.v1.StreamTokenizeRequest,
      dev.voxgate.v1.StreamTokenizeResponse> getStreamTokenizeMethod() {
    io.grpc.MethodDescriptor<dev.voxgate.v1.StreamTokenizeRequest, dev.voxgate.v1.StreamTokenizeResponse> getStreamTokenizeMethod;
    if ((getStreamTokenizeMethod = TokenizerServiceGrpc.getStreamTokenizeMethod) == null) {
      synchronized (TokenizerServiceGrpc.class) {
        if ((getStreamTokenizeMethod = TokenizerServiceGrpc.getStreamTokenizeMethod) == null) {
          TokenizerServiceGrpc.getStreamTokenizeMethod = getStreamTokenizeMethod =
              io.grpc.MethodDescriptor.<dev.voxgate.v1.StreamTokenizeRequest, dev.voxgate.v1.StreamTokenizeResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "StreamTokenize"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.StreamTokenizeRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.StreamTokenizeResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TokenizerServiceMethodDescriptorSupplier("StreamTokenize"))
              .build();
        }
      }
    }
    return getStreamTokenizeMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.voxgate.v1.DetokenizeRequest,
      dev.voxgate.v1.DetokenizeResponse> getDetokenizeMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Detokenize",
      requestType = dev.voxgate.v1.DetokenizeRequest.class,
      responseType = dev.voxgate.v1.DetokenizeResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.voxgate.v1.DetokenizeRequest,
      dev.voxgate.v1.DetokenizeResponse> getDetokenizeMethod() {
    io.grpc.MethodDescriptor<dev.voxgate.v1.DetokenizeRequest, dev.voxgate.v1.DetokenizeResponse> getDetokenizeMethod;
    if ((getDetokenizeMethod = TokenizerServiceGrpc.getDetokenizeMethod) == null) {
      synchronized (TokenizerServiceGrpc.class) {
        if ((getDetokenizeMethod = TokenizerServiceGrpc.getDetokenizeMethod) == null) {
          TokenizerServiceGrpc.getDetokenizeMethod = getDetokenizeMethod =
              io.grpc.MethodDescriptor.<dev.voxgate.v1.DetokenizeRequest, dev.voxgate.v1.DetokenizeResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Detokenize"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.DetokenizeRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.DetokenizeResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TokenizerServiceMethodDescriptorSupplier("Detokenize"))
              .build();
        }
      }
    }
    return getDetokenizeMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static TokenizerServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<TokenizerServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<TokenizerServiceStub>() {
        @java.lang.Override
        public TokenizerServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new TokenizerServiceStub(channel, callOptions);
        }
      };
    return TokenizerServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static TokenizerServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<TokenizerServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<TokenizerServiceBlockingV2Stub>() {
        @java.lang.Override
        public TokenizerServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new TokenizerServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return TokenizerServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static TokenizerServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<TokenizerServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<TokenizerServiceBlockingStub>() {
        @java.lang.Override
        public TokenizerServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new TokenizerServiceBlockingStub(channel, callOptions);
        }
      };
    return TokenizerServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static TokenizerServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<TokenizerServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<TokenizerServiceFutureStub>() {
        @java.lang.Override
        public TokenizerServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new TokenizerServiceFutureStub(channel, callOptions);
        }
      };
    return TokenizerServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * Turns speech into Step-Audio tokens and tokens back into speech.
   * Every RPC may also return UNAVAILABLE (the model server is not ready; retry with backoff),
   * DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (message over the server's size limit, or
   * the server busy: then with a google.rpc.RetryInfo delay) and INTERNAL (an unexpected fault;
   * the message never carries internal details); with token auth on, UNAUTHENTICATED (no or
   * unknown bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Tokenizes one recording.
     * Errors: INVALID_ARGUMENT (no audio, empty/corrupt/truncated audio, unknown encoding, sample
     * rate or channel count out of range, NaN/infinite samples, partial frames), OUT_OF_RANGE
     * (longer than the server's maximum duration, declared or decoded; more decoded audio than
     * the server's whole budget), RESOURCE_EXHAUSTED (the decoded-audio budget is in use by other
     * calls: retry after the google.rpc.RetryInfo delay), UNAVAILABLE, DEADLINE_EXCEEDED.
     * </pre>
     */
    default void tokenize(dev.voxgate.v1.TokenizeRequest request,
        io.grpc.stub.StreamObserver<dev.voxgate.v1.TokenizeResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getTokenizeMethod(), responseObserver);
    }

    /**
     * <pre>
     * Tokenizes live audio. The first message carries the config, later ones carry audio pieces of
     * any size. The server answers once per completed 120 ms group, as soon as the model's
     * look-ahead for that group has arrived, and once more, with `final` set, after the client
     * half-closes. The concatenated tokens equal what Tokenize returns for the same audio.
     * Errors: INVALID_ARGUMENT (first message not a config, a second config, bad format, audio that
     * cannot be decoded), OUT_OF_RANGE (stream longer than the maximum duration; a FLAC/OGG/MP3
     * stream holding more than StreamAudioFormat allows), RESOURCE_EXHAUSTED (as Tokenize),
     * UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED (the client went away; the server stops all work
     * for the stream).
     * </pre>
     */
    default io.grpc.stub.StreamObserver<dev.voxgate.v1.StreamTokenizeRequest> streamTokenize(
        io.grpc.stub.StreamObserver<dev.voxgate.v1.StreamTokenizeResponse> responseObserver) {
      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall(getStreamTokenizeMethod(), responseObserver);
    }

    /**
     * <pre>
     * Turns tokens back into audio.
     * Errors: INVALID_ARGUMENT (no tokens, ids outside their vocabulary, a malformed text form, a
     * count that is not whole groups, a bad output format), OUT_OF_RANGE (more tokens than the
     * server's maximum; audio larger than a response may carry: for RAW and WAV known before
     * anything is decoded, for FLAC and OGG once the encoder passes it), RESOURCE_EXHAUSTED (as
     * Tokenize), UNAVAILABLE, DEADLINE_EXCEEDED.
     * </pre>
     */
    default void detokenize(dev.voxgate.v1.DetokenizeRequest request,
        io.grpc.stub.StreamObserver<dev.voxgate.v1.DetokenizeResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDetokenizeMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service TokenizerService.
   * <pre>
   * Turns speech into Step-Audio tokens and tokens back into speech.
   * Every RPC may also return UNAVAILABLE (the model server is not ready; retry with backoff),
   * DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (message over the server's size limit, or
   * the server busy: then with a google.rpc.RetryInfo delay) and INTERNAL (an unexpected fault;
   * the message never carries internal details); with token auth on, UNAUTHENTICATED (no or
   * unknown bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static abstract class TokenizerServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return TokenizerServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service TokenizerService.
   * <pre>
   * Turns speech into Step-Audio tokens and tokens back into speech.
   * Every RPC may also return UNAVAILABLE (the model server is not ready; retry with backoff),
   * DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (message over the server's size limit, or
   * the server busy: then with a google.rpc.RetryInfo delay) and INTERNAL (an unexpected fault;
   * the message never carries internal details); with token auth on, UNAUTHENTICATED (no or
   * unknown bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static final class TokenizerServiceStub
      extends io.grpc.stub.AbstractAsyncStub<TokenizerServiceStub> {
    private TokenizerServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected TokenizerServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new TokenizerServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Tokenizes one recording.
     * Errors: INVALID_ARGUMENT (no audio, empty/corrupt/truncated audio, unknown encoding, sample
     * rate or channel count out of range, NaN/infinite samples, partial frames), OUT_OF_RANGE
     * (longer than the server's maximum duration, declared or decoded; more decoded audio than
     * the server's whole budget), RESOURCE_EXHAUSTED (the decoded-audio budget is in use by other
     * calls: retry after the google.rpc.RetryInfo delay), UNAVAILABLE, DEADLINE_EXCEEDED.
     * </pre>
     */
    public void tokenize(dev.voxgate.v1.TokenizeRequest request,
        io.grpc.stub.StreamObserver<dev.voxgate.v1.TokenizeResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getTokenizeMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Tokenizes live audio. The first message carries the config, later ones carry audio pieces of
     * any size. The server answers once per completed 120 ms group, as soon as the model's
     * look-ahead for that group has arrived, and once more, with `final` set, after the client
     * half-closes. The concatenated tokens equal what Tokenize returns for the same audio.
     * Errors: INVALID_ARGUMENT (first message not a config, a second config, bad format, audio that
     * cannot be decoded), OUT_OF_RANGE (stream longer than the maximum duration; a FLAC/OGG/MP3
     * stream holding more than StreamAudioFormat allows), RESOURCE_EXHAUSTED (as Tokenize),
     * UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED (the client went away; the server stops all work
     * for the stream).
     * </pre>
     */
    public io.grpc.stub.StreamObserver<dev.voxgate.v1.StreamTokenizeRequest> streamTokenize(
        io.grpc.stub.StreamObserver<dev.voxgate.v1.StreamTokenizeResponse> responseObserver) {
      return io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
          getChannel().newCall(getStreamTokenizeMethod(), getCallOptions()), responseObserver);
    }

    /**
     * <pre>
     * Turns tokens back into audio.
     * Errors: INVALID_ARGUMENT (no tokens, ids outside their vocabulary, a malformed text form, a
     * count that is not whole groups, a bad output format), OUT_OF_RANGE (more tokens than the
     * server's maximum; audio larger than a response may carry: for RAW and WAV known before
     * anything is decoded, for FLAC and OGG once the encoder passes it), RESOURCE_EXHAUSTED (as
     * Tokenize), UNAVAILABLE, DEADLINE_EXCEEDED.
     * </pre>
     */
    public void detokenize(dev.voxgate.v1.DetokenizeRequest request,
        io.grpc.stub.StreamObserver<dev.voxgate.v1.DetokenizeResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDetokenizeMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service TokenizerService.
   * <pre>
   * Turns speech into Step-Audio tokens and tokens back into speech.
   * Every RPC may also return UNAVAILABLE (the model server is not ready; retry with backoff),
   * DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (message over the server's size limit, or
   * the server busy: then with a google.rpc.RetryInfo delay) and INTERNAL (an unexpected fault;
   * the message never carries internal details); with token auth on, UNAUTHENTICATED (no or
   * unknown bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static final class TokenizerServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<TokenizerServiceBlockingV2Stub> {
    private TokenizerServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected TokenizerServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new TokenizerServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Tokenizes one recording.
     * Errors: INVALID_ARGUMENT (no audio, empty/corrupt/truncated audio, unknown encoding, sample
     * rate or channel count out of range, NaN/infinite samples, partial frames), OUT_OF_RANGE
     * (longer than the server's maximum duration, declared or decoded; more decoded audio than
     * the server's whole budget), RESOURCE_EXHAUSTED (the decoded-audio budget is in use by other
     * calls: retry after the google.rpc.RetryInfo delay), UNAVAILABLE, DEADLINE_EXCEEDED.
     * </pre>
     */
    public dev.voxgate.v1.TokenizeResponse tokenize(dev.voxgate.v1.TokenizeRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getTokenizeMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Tokenizes live audio. The first message carries the config, later ones carry audio pieces of
     * any size. The server answers once per completed 120 ms group, as soon as the model's
     * look-ahead for that group has arrived, and once more, with `final` set, after the client
     * half-closes. The concatenated tokens equal what Tokenize returns for the same audio.
     * Errors: INVALID_ARGUMENT (first message not a config, a second config, bad format, audio that
     * cannot be decoded), OUT_OF_RANGE (stream longer than the maximum duration; a FLAC/OGG/MP3
     * stream holding more than StreamAudioFormat allows), RESOURCE_EXHAUSTED (as Tokenize),
     * UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED (the client went away; the server stops all work
     * for the stream).
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<dev.voxgate.v1.StreamTokenizeRequest, dev.voxgate.v1.StreamTokenizeResponse>
        streamTokenize() {
      return io.grpc.stub.ClientCalls.blockingBidiStreamingCall(
          getChannel(), getStreamTokenizeMethod(), getCallOptions());
    }

    /**
     * <pre>
     * Turns tokens back into audio.
     * Errors: INVALID_ARGUMENT (no tokens, ids outside their vocabulary, a malformed text form, a
     * count that is not whole groups, a bad output format), OUT_OF_RANGE (more tokens than the
     * server's maximum; audio larger than a response may carry: for RAW and WAV known before
     * anything is decoded, for FLAC and OGG once the encoder passes it), RESOURCE_EXHAUSTED (as
     * Tokenize), UNAVAILABLE, DEADLINE_EXCEEDED.
     * </pre>
     */
    public dev.voxgate.v1.DetokenizeResponse detokenize(dev.voxgate.v1.DetokenizeRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDetokenizeMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service TokenizerService.
   * <pre>
   * Turns speech into Step-Audio tokens and tokens back into speech.
   * Every RPC may also return UNAVAILABLE (the model server is not ready; retry with backoff),
   * DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (message over the server's size limit, or
   * the server busy: then with a google.rpc.RetryInfo delay) and INTERNAL (an unexpected fault;
   * the message never carries internal details); with token auth on, UNAUTHENTICATED (no or
   * unknown bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static final class TokenizerServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<TokenizerServiceBlockingStub> {
    private TokenizerServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected TokenizerServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new TokenizerServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Tokenizes one recording.
     * Errors: INVALID_ARGUMENT (no audio, empty/corrupt/truncated audio, unknown encoding, sample
     * rate or channel count out of range, NaN/infinite samples, partial frames), OUT_OF_RANGE
     * (longer than the server's maximum duration, declared or decoded; more decoded audio than
     * the server's whole budget), RESOURCE_EXHAUSTED (the decoded-audio budget is in use by other
     * calls: retry after the google.rpc.RetryInfo delay), UNAVAILABLE, DEADLINE_EXCEEDED.
     * </pre>
     */
    public dev.voxgate.v1.TokenizeResponse tokenize(dev.voxgate.v1.TokenizeRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getTokenizeMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Turns tokens back into audio.
     * Errors: INVALID_ARGUMENT (no tokens, ids outside their vocabulary, a malformed text form, a
     * count that is not whole groups, a bad output format), OUT_OF_RANGE (more tokens than the
     * server's maximum; audio larger than a response may carry: for RAW and WAV known before
     * anything is decoded, for FLAC and OGG once the encoder passes it), RESOURCE_EXHAUSTED (as
     * Tokenize), UNAVAILABLE, DEADLINE_EXCEEDED.
     * </pre>
     */
    public dev.voxgate.v1.DetokenizeResponse detokenize(dev.voxgate.v1.DetokenizeRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDetokenizeMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service TokenizerService.
   * <pre>
   * Turns speech into Step-Audio tokens and tokens back into speech.
   * Every RPC may also return UNAVAILABLE (the model server is not ready; retry with backoff),
   * DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (message over the server's size limit, or
   * the server busy: then with a google.rpc.RetryInfo delay) and INTERNAL (an unexpected fault;
   * the message never carries internal details); with token auth on, UNAUTHENTICATED (no or
   * unknown bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static final class TokenizerServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<TokenizerServiceFutureStub> {
    private TokenizerServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected TokenizerServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new TokenizerServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Tokenizes one recording.
     * Errors: INVALID_ARGUMENT (no audio, empty/corrupt/truncated audio, unknown encoding, sample
     * rate or channel count out of range, NaN/infinite samples, partial frames), OUT_OF_RANGE
     * (longer than the server's maximum duration, declared or decoded; more decoded audio than
     * the server's whole budget), RESOURCE_EXHAUSTED (the decoded-audio budget is in use by other
     * calls: retry after the google.rpc.RetryInfo delay), UNAVAILABLE, DEADLINE_EXCEEDED.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.voxgate.v1.TokenizeResponse> tokenize(
        dev.voxgate.v1.TokenizeRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getTokenizeMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Turns tokens back into audio.
     * Errors: INVALID_ARGUMENT (no tokens, ids outside their vocabulary, a malformed text form, a
     * count that is not whole groups, a bad output format), OUT_OF_RANGE (more tokens than the
     * server's maximum; audio larger than a response may carry: for RAW and WAV known before
     * anything is decoded, for FLAC and OGG once the encoder passes it), RESOURCE_EXHAUSTED (as
     * Tokenize), UNAVAILABLE, DEADLINE_EXCEEDED.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.voxgate.v1.DetokenizeResponse> detokenize(
        dev.voxgate.v1.DetokenizeRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDetokenizeMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_TOKENIZE = 0;
  private static final int METHODID_DETOKENIZE = 1;
  private static final int METHODID_STREAM_TOKENIZE = 2;

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
        case METHODID_TOKENIZE:
          serviceImpl.tokenize((dev.voxgate.v1.TokenizeRequest) request,
              (io.grpc.stub.StreamObserver<dev.voxgate.v1.TokenizeResponse>) responseObserver);
          break;
        case METHODID_DETOKENIZE:
          serviceImpl.detokenize((dev.voxgate.v1.DetokenizeRequest) request,
              (io.grpc.stub.StreamObserver<dev.voxgate.v1.DetokenizeResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_STREAM_TOKENIZE:
          return (io.grpc.stub.StreamObserver<Req>) serviceImpl.streamTokenize(
              (io.grpc.stub.StreamObserver<dev.voxgate.v1.StreamTokenizeResponse>) responseObserver);
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getTokenizeMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.voxgate.v1.TokenizeRequest,
              dev.voxgate.v1.TokenizeResponse>(
                service, METHODID_TOKENIZE)))
        .addMethod(
          getStreamTokenizeMethod(),
          io.grpc.stub.ServerCalls.asyncBidiStreamingCall(
            new MethodHandlers<
              dev.voxgate.v1.StreamTokenizeRequest,
              dev.voxgate.v1.StreamTokenizeResponse>(
                service, METHODID_STREAM_TOKENIZE)))
        .addMethod(
          getDetokenizeMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.voxgate.v1.DetokenizeRequest,
              dev.voxgate.v1.DetokenizeResponse>(
                service, METHODID_DETOKENIZE)))
        .build();
  }

  private static abstract class TokenizerServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    TokenizerServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.voxgate.v1.TokenizerProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("TokenizerService");
    }
  }

  private static final class TokenizerServiceFileDescriptorSupplier
      extends TokenizerServiceBaseDescriptorSupplier {
    TokenizerServiceFileDescriptorSupplier() {}
  }

  private static final class TokenizerServiceMethodDescriptorSupplier
      extends TokenizerServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    TokenizerServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (TokenizerServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new TokenizerServiceFileDescriptorSupplier())
              .addMethod(getTokenizeMethod())
              .addMethod(getStreamTokenizeMethod())
              .addMethod(getDetokenizeMethod())
              .build();
        }
      }
    }
    return result;
  }
}

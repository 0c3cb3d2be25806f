package dev.voxgate.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * Text to speech, with voice cloning, styles and a registry of cloned voices.
 * Errors of every RPC: UNIMPLEMENTED (this deployment has no synthesis model; see
 * GetServerInfo and grpc.health.v1 for "voxgate.v1.SynthesisService"), UNAVAILABLE (the model
 * server is down or loading; retry), DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (a
 * message over the size limit, or the server busy: then with a google.rpc.RetryInfo delay),
 * INTERNAL (with the request id only); with token auth on, UNAUTHENTICATED (no or unknown
 * bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class SynthesisServiceGrpc {

  private SynthesisServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "voxgate.v1.SynthesisService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.voxgate.v1.SynthesizeRequest,
      dev.voxgate.v1.SynthesizeResponse> getSynthesizeMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Synthesize",
      requestType = dev.voxgate.v1.SynthesizeRequest.class,
      responseType = dev.voxgate.v1.SynthesizeResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<dev.voxgate.v1.SynthesizeRequest,
      dev.voxgate.v1.SynthesizeResponse> getSynthesizeMethod() {
    io.grpc.MethodDescriptor<dev.voxgate.v1.SynthesizeRequest, dev.voxgate.v1.SynthesizeResponse> getSynthesizeMethod;
    if ((getSynthesizeMethod = SynthesisServiceGrpc.getSynthesizeMethod) == null) {
      synchronized (SynthesisServiceGrpc.class) {
        if ((getSynthesizeMethod = SynthesisServiceGrpc.getSynthesizeMethod) == null) {
          SynthesisServiceGrpc.getSynthesizeMethod = getSynthesizeMethod =
              io.grpc.MethodDescriptor.<dev.voxgate.v1.SynthesizeRequest, dev.voxgate.v1.SynthesizeResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Synthesize"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.SynthesizeRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.SynthesizeResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SynthesisServiceMethodDescriptorSupplier("Synthesize"))
              .build();
        }
      }
    }
    return getSynthesizeMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.voxgate.v1.StreamSynthesizeRequest,
      dev.voxgate.v1.StreamSynthesizeResponse> getStreamSynthesizeMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "StreamSynthesize",
      requestType = dev.voxgate.v1.StreamSynthesizeRequest.class,
      responseType = dev.voxgate.v1.StreamSynthesizeResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
  public static io.grpc.MethodDescriptor<dev.voxgate.v1.StreamSynthesizeRequest,
      dev.voxgate.v1.StreamSynthesizeResponse> getStreamSynthesizeMethod() {
    io.grpc.MethodDescriptor<dev.voxgate.v1.StreamSynthesizeRequest, dev.voxgate.v1.StreamSynthesizeResponse> getStreamSynthesizeMethod;
    if ((getStreamSynthesizeMethod = SynthesisServiceGrpc.getStreamSynthesizeMethod) == null) {
      synchronized (SynthesisServiceGrpc.class) {
        if ((getStreamSynthesizeMethod = SynthesisServiceGrpc.getStreamSynthesizeMethod) == null) {
          SynthesisServiceGrpc.getStreamSynthesizeMethod = getStreamSynthesizeMethod =
              io.grpc.MethodDescriptor.<dev.voxgate.v1.StreamSynthesizeRequest, dev.voxgate.v1.StreamSynthesizeResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "StreamSynthesize"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.StreamSynthesizeRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.StreamSynthesizeResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SynthesisServiceMethodDescriptorSupplier("StreamSynthesize"))
              .build();
        }
      }
    }
    return getStreamSynthesizeMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.voxgate.v1.CreateVoiceRequest,
      dev.voxgate.v1.CreateVoiceResponse> getCreateVoiceMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateVoice",
      requestType = dev.voxgate.v1.CreateVoiceRequest.class,
      responseType = dev.voxgate.v1.CreateVoiceResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.voxgate.v1.CreateVoiceRequest,
      dev.voxgate.v1.CreateVoiceResponse> getCreateVoiceMethod() {
    io.grpc.MethodDescriptor<dev.voxgate.v1.CreateVoiceRequest, dev.voxgate.v1.CreateVoiceResponse> getCreateVoiceMethod;
    if ((getCreateVoiceMethod = SynthesisServiceGrpc.getCreateVoiceMethod) == null) {
      synchronized (SynthesisServiceGrpc.class) {
        if ((getCreateVoiceMethod = SynthesisServiceGrpc.getCreateVoiceMethod) == null) {
          SynthesisServiceGrpc.getCreateVoiceMethod = getCreateVoiceMethod =
              io.grpc.MethodDescriptor.<dev.voxgate.v1.CreateVoiceRequest, dev.voxgate.v1.CreateVoiceResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateVoice"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.CreateVoiceRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.CreateVoiceResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SynthesisServiceMethodDescriptorSupplier("CreateVoice"))
              .build();
        }
      }
    }
    return getCreateVoiceMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.voxgate.v1.ListVoicesRequest,
      dev.voxgate.v1.ListVoicesResponse> getListVoicesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListVoices",
      requestType = dev.voxgate.v1.ListVoicesRequest.class,
      responseType = dev.voxgate.v1.ListVoicesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.voxgate.v1.ListVoicesRequest,
      dev.voxgate.v1.ListVoicesResponse> getListVoicesMethod() {
    io.grpc.MethodDescriptor<dev.voxgate.v1.ListVoicesRequest, dev.voxgate.v1.ListVoicesResponse> getListVoicesMethod;
    if ((getListVoicesMethod = SynthesisServiceGrpc.getListVoicesMethod) == null) {
      synchronized (SynthesisServiceGrpc.class) {
        if ((getListVoicesMethod = SynthesisServiceGrpc.getListVoicesMethod) == null) {
          SynthesisServiceGrpc.getListVoicesMethod = getListVoicesMethod =
              io.grpc.MethodDescriptor.<dev.voxgate.v1.ListVoicesRequest, dev.voxgate.v1.ListVoicesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListVoices"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.ListVoicesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.ListVoicesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SynthesisServiceMethodDescriptorSupplier("ListVoices"))
              .build();
        }
      }
    }
    return getListVoicesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.voxgate.v1.DeleteVoiceRequest,
      dev.voxgate.v1.DeleteVoiceResponse> getDeleteVoiceMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteVoice",
      requestType = dev.voxgate.v1.DeleteVoiceRequest.class,
      responseType = dev.voxgate.v1.DeleteVoiceResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.voxgate.v1.DeleteVoiceRequest,
      dev.voxgate.v1.DeleteVoiceResponse> getDeleteVoiceMethod() {
    io.grpc.MethodDescriptor<dev.voxgate.v1.DeleteVoiceRequest, dev.voxgate.v1.DeleteVoiceResponse> getDeleteVoiceMethod;
    if ((getDeleteVoiceMethod = SynthesisServiceGrpc.getDeleteVoiceMethod) == null) {
      synchronized (SynthesisServiceGrpc.class) {
        if ((getDeleteVoiceMethod = SynthesisServiceGrpc.getDeleteVoiceMethod) == null) {
          SynthesisServiceGrpc.getDeleteVoiceMethod = getDeleteVoiceMethod =
              io.grpc.MethodDescriptor.<dev.voxgate.v1.DeleteVoiceRequest, dev.voxgate.v1.DeleteVoiceResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteVoice"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.DeleteVoiceRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.DeleteVoiceResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SynthesisServiceMethodDescriptorSupplier("DeleteVoice"))
              .build();
        }
      }
    }
    return getDeleteVoiceMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static SynthesisServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SynthesisServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SynthesisServiceStub>() {
        @java.lang.Override
        public SynthesisServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SynthesisServiceStub(channel, callOptions);
        }
      };
    return SynthesisServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static SynthesisServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SynthesisServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SynthesisServiceBlockingV2Stub>() {
        @java.lang.Override
        public SynthesisServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SynthesisServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return SynthesisServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static SynthesisServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SynthesisServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SynthesisServiceBlockingStub>() {
        @java.lang.Override
        public SynthesisServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SynthesisServiceBlockingStub(channel, callOptions);
        }
      };
    return SynthesisServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static SynthesisServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SynthesisServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SynthesisServiceFutureStub>() {
        @java.lang.Override
        public SynthesisServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SynthesisServiceFutureStub(channel, callOptions);
        }
      };
    return SynthesisServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * Text to speech, with voice cloning, styles and a registry of cloned voices.
   * Errors of every RPC: UNIMPLEMENTED (this deployment has no synthesis model; see
   * GetServerInfo and grpc.health.v1 for "voxgate.v1.SynthesisService"), UNAVAILABLE (the model
   * server is down or loading; retry), DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (a
   * message over the size limit, or the server busy: then with a google.rpc.RetryInfo delay),
   * INTERNAL (with the request id only); with token auth on, UNAUTHENTICATED (no or unknown
   * bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Synthesizes speech from text, streamed in pieces as it is generated: the first piece comes
     * as soon as the first clause's token groups are decoded.
     * Errors: INVALID_ARGUMENT (empty text, bad prompt audio, prompt audio without its
     * transcript, a style value out of its range, bad output format), NOT_FOUND (unknown voice),
     * OUT_OF_RANGE (text or prompt too long), DEADLINE_EXCEEDED (also when the generator stops
     * producing before the deadline), UNIMPLEMENTED, UNAVAILABLE, CANCELLED.
     * </pre>
     */
    default void synthesize(dev.voxgate.v1.SynthesizeRequest request,
        io.grpc.stub.StreamObserver<dev.voxgate.v1.SynthesizeResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSynthesizeMethod(), responseObserver);
    }

    /**
     * <pre>
     * Synthesizes text that arrives piece by piece (for example from an LLM): the first message
     * carries the config, later ones carry text; closing the request stream ends the input.
     * Audio comes out as soon as each clause is complete.
     * Errors: as Synthesize, plus INVALID_ARGUMENT when the first message is not a config or a
     * later one is.
     * </pre>
     */
    default io.grpc.stub.StreamObserver<dev.voxgate.v1.StreamSynthesizeRequest> streamSynthesize(
        io.grpc.stub.StreamObserver<dev.voxgate.v1.StreamSynthesizeResponse> responseObserver) {
      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall(getStreamSynthesizeMethod(), responseObserver);
    }

    /**
     * <pre>
     * Registers a cloned voice: stores the prompt's audio tokens and speaker features (and the
     * prompt audio itself only when asked), and returns its id for `SynthesizeRequest.voice`.
     * Errors: INVALID_ARGUMENT (no or bad prompt audio, no transcript, no name), OUT_OF_RANGE
     * (prompt longer than the limit), UNAVAILABLE.
     * </pre>
     */
    default void createVoice(dev.voxgate.v1.CreateVoiceRequest request,
        io.grpc.stub.StreamObserver<dev.voxgate.v1.CreateVoiceResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateVoiceMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists the built-in voices and the registered ones.
     * Errors: none beyond the service-wide ones.
     * </pre>
     */
    default void listVoices(dev.voxgate.v1.ListVoicesRequest request,
        io.grpc.stub.StreamObserver<dev.voxgate.v1.ListVoicesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListVoicesMethod(), responseObserver);
    }

    /**
     * <pre>
     * Deletes a registered voice.
     * Errors: NOT_FOUND (no such voice), FAILED_PRECONDITION (a built-in voice).
     * </pre>
     */
    default void deleteVoice(dev.voxgate.v1.DeleteVoiceRequest request,
        io.grpc.stub.StreamObserver<dev.voxgate.v1.DeleteVoiceResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteVoiceMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service SynthesisService.
   * <pre>
   * Text to speech, with voice cloning, styles and a registry of cloned voices.
   * Errors of every RPC: UNIMPLEMENTED (this deployment has no synthesis model; see
   * GetServerInfo and grpc.health.v1 for "voxgate.v1.SynthesisService"), UNAVAILABLE (the model
   * server is down or loading; retry), DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (a
   * message over the size limit, or the server busy: then with a google.rpc.RetryInfo delay),
   * INTERNAL (with the request id only); with token auth on, UNAUTHENTICATED (no or unknown
   * bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static abstract class SynthesisServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return SynthesisServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service SynthesisService.
   * <pre>
   * Text to speech, with voice cloning, styles and a registry of cloned voices.
   * Errors of every RPC: UNIMPLEMENTED (this deployment has no synthesis model; see
   * GetServerInfo and grpc.health.v1 for "voxgate.v1.SynthesisService"), UNAVAILABLE (the model
   * server is down or loading; retry), DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (a
   * message over the size limit, or the server busy: then with a google.rpc.RetryInfo delay),
   * INTERNAL (with the request id only); with token auth on, UNAUTHENTICATED (no or unknown
   * bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static final class SynthesisServiceStub
      extends io.grpc.stub.AbstractAsyncStub<SynthesisServiceStub> {
    private SynthesisServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SynthesisServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SynthesisServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Synthesizes speech from text, streamed in pieces as it is generated: the first piece comes
     * as soon as the first clause's token groups are decoded.
     * Errors: INVALID_ARGUMENT (empty text, bad prompt audio, prompt audio without its
     * transcript, a style value out of its range, bad output format), NOT_FOUND (unknown voice),
     * OUT_OF_RANGE (text or prompt too long), DEADLINE_EXCEEDED (also when the generator stops
     * producing before the deadline), UNIMPLEMENTED, UNAVAILABLE, CANCELLED.
     * </pre>
     */
    public void synthesize(dev.voxgate.v1.SynthesizeRequest request,
        io.grpc.stub.StreamObserver<dev.voxgate.v1.SynthesizeResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getSynthesizeMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Synthesizes text that arrives piece by piece (for example from an LLM): the first message
     * carries the config, later ones carry text; closing the request stream ends the input.
     * Audio comes out as soon as each clause is complete.
     * Errors: as Synthesize, plus INVALID_ARGUMENT when the first message is not a config or a
     * later one is.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<dev.voxgate.v1.StreamSynthesizeRequest> streamSynthesize(
        io.grpc.stub.StreamObserver<dev.voxgate.v1.StreamSynthesizeResponse> responseObserver) {
      return io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
          getChannel().newCall(getStreamSynthesizeMethod(), getCallOptions()), responseObserver);
    }

    /**
     * <pre>
     * Registers a cloned voice: stores the prompt's audio tokens and speaker features (and the
     * prompt audio itself only when asked), and returns its id for `SynthesizeRequest.voice`.
     * Errors: INVALID_ARGUMENT (no or bad prompt audio, no transcript, no name), OUT_OF_RANGE
     * (prompt longer than the limit), UNAVAILABLE.
     * </pre>
     */
    public void createVoice(dev.voxgate.v1.CreateVoiceRequest request,
        io.grpc.stub.StreamObserver<dev.voxgate.v1.CreateVoiceResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateVoiceMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists the built-in voices and the registered ones.
     * Errors: none beyond the service-wide ones.
     * </pre>
     */
    public void listVoices(dev.voxgate.v1.ListVoicesRequest request,
        io.grpc.stub.StreamObserver<dev.voxgate.v1.ListVoicesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListVoicesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Deletes a registered voice.
     * Errors: NOT_FOUND (no such voice), FAILED_PRECONDITION (a built-in voice).
     * </pre>
     */
    public void deleteVoice(dev.voxgate.v1.DeleteVoiceRequest request,
        io.grpc.stub.StreamObserver<dev.voxgate.v1.DeleteVoiceResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteVoiceMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service SynthesisService.
   * <pre>
   * Text to speech, with voice cloning, styles and a registry of cloned voices.
   * Errors of every RPC: UNIMPLEMENTED (this deployment has no synthesis model; see
   * GetServerInfo and grpc.health.v1 for "voxgate.v1.SynthesisService"), UNAVAILABLE (the model
   * server is down or loading; retry), DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (a
   * message over the size limit, or the server busy: then with a google.rpc.RetryInfo delay),
   * INTERNAL (with the request id only); with token auth on, UNAUTHENTICATED (no or unknown
   * bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static final class SynthesisServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<SynthesisServiceBlockingV2Stub> {
    private SynthesisServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SynthesisServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SynthesisServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Synthesizes speech from text, streamed in pieces as it is generated: the first piece comes
     * as soon as the first clause's token groups are decoded.
     * Errors: INVALID_ARGUMENT (empty text, bad prompt audio, prompt audio without its
     * transcript, a style value out of its range, bad output format), NOT_FOUND (unknown voice),
     * OUT_OF_RANGE (text or prompt too long), DEADLINE_EXCEEDED (also when the generator stops
     * producing before the deadline), UNIMPLEMENTED, UNAVAILABLE, CANCELLED.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<?, dev.voxgate.v1.SynthesizeResponse>
        synthesize(dev.voxgate.v1.SynthesizeRequest request) {
      return io.grpc.stub.ClientCalls.blockingV2ServerStreamingCall(
          getChannel(), getSynthesizeMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Synthesizes text that arrives piece by piece (for example from an LLM): the first message
     * carries the config, later ones carry text; closing the request stream ends the input.
     * Audio comes out as soon as each clause is complete.
     * Errors: as Synthesize, plus INVALID_ARGUMENT when the first message is not a config or a
     * later one is.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<dev.voxgate.v1.StreamSynthesizeRequest, dev.voxgate.v1.StreamSynthesizeResponse>
        streamSynthesize() {
      return io.grpc.stub.ClientCalls.blockingBidiStreamingCall(
          getChannel(), getStreamSynthesizeMethod(), getCallOptions());
    }

    /**
     * <pre>
     * Registers a cloned voice: stores the prompt's audio tokens and speaker features (and the
     * prompt audio itself only when asked), and returns its id for `SynthesizeRequest.voice`.
     * Errors: INVALID_ARGUMENT (no or bad prompt audio, no transcript, no name), OUT_OF_RANGE
     * (prompt longer than the limit), UNAVAILABLE.
     * </pre>
     */
    public dev.voxgate.v1.CreateVoiceResponse createVoice(dev.voxgate.v1.CreateVoiceRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateVoiceMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the built-in voices and the registered ones.
     * Errors: none beyond the service-wide ones.
     * </pre>
     */
    public dev.voxgate.v1.ListVoicesResponse listVoices(dev.voxgate.v1.ListVoicesRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListVoicesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes a registered voice.
     * Errors: NOT_FOUND (no such voice), FAILED_PRECONDITION (a built-in voice).
     * </pre>
     */
    public dev.voxgate.v1.DeleteVoiceResponse deleteVoice(dev.voxgate.v1.DeleteVoiceRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteVoiceMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service SynthesisService.
   * <pre>
   * Text to speech, with voice cloning, styles and a registry of cloned voices.
   * Errors of every RPC: UNIMPLEMENTED (this deployment has no synthesis model; see
   * GetServerInfo and grpc.health.v1 for "voxgate.v1.SynthesisService"), UNAVAILABLE (the model
   * server is down or loading; retry), DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (a
   * message over the size limit, or the server busy: then with a google.rpc.RetryInfo delay),
   * INTERNAL (with the request id only); with token auth on, UNAUTHENTICATED (no or unknown
   * bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static final class SynthesisServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<SynthesisServiceBlockingStub> {
    private SynthesisServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SynthesisServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SynthesisServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Synthesizes speech from text, streamed in pieces as it is generated: the first piece comes
     * as soon as the first clause's token groups are decoded.
     * Errors: INVALID_ARGUMENT (empty text, bad prompt audio, prompt audio without its
     * transcript, a style value out of its range, bad output format), NOT_FOUND (unknown voice),
     * OUT_OF_RANGE (text or prompt too long), DEADLINE_EXCEEDED (also when the generator stops
     * producing before the deadline), UNIMPLEMENTED, UNAVAILABLE, CANCELLED.
     * </pre>
     */
    public java.util.Iterator<dev.voxgate.v1.SynthesizeResponse> synthesize(
        dev.voxgate.v1.SynthesizeRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getSynthesizeMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Registers a cloned voice: stores the prompt's audio tokens and speaker features (and the
     * prompt audio itself only when asked), and returns its id for `SynthesizeRequest.voice`.
     * Errors: INVALID_ARGUMENT (no or bad prompt audio, no transcript, no name), OUT_OF_RANGE
     * (prompt longer than the limit), UNAVAILABLE.
     * </pre>
     */
    public dev.voxgate.v1.CreateVoiceResponse createVoice(dev.voxgate.v1.CreateVoiceRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateVoiceMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the built-in voices and the registered ones.
     * Errors: none beyond the service-wide ones.
     * </pre>
     */
    public dev.voxgate.v1.ListVoicesResponse listVoices(dev.voxgate.v1.ListVoicesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListVoicesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes a registered voice.
     * Errors: NOT_FOUND (no such voice), FAILED_PRECONDITION (a built-in voice).
     * </pre>
     */
    public dev.voxgate.v1.DeleteVoiceResponse deleteVoice(dev.voxgate.v1.DeleteVoiceRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteVoiceMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service SynthesisService.
   * <pre>
   * Text to speech, with voice cloning, styles and a registry of cloned voices.
   * Errors of every RPC: UNIMPLEMENTED (this deployment has no synthesis model; see
   * GetServerInfo and grpc.health.v1 for "voxgate.v1.SynthesisService"), UNAVAILABLE (the model
   * server is down or loading; retry), DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (a
   * message over the size limit, or the server busy: then with a google.rpc.RetryInfo delay),
   * INTERNAL (with the request id only); with token auth on, UNAUTHENTICATED (no or unknown
   * bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static final class SynthesisServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<SynthesisServiceFutureStub> {
    private SynthesisServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SynthesisServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SynthesisServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Registers a cloned voice: stores the prompt's audio tokens and speaker features (and the
     * prompt audio itself only when asked), and returns its id for `SynthesizeRequest.voice`.
     * Errors: INVALID_ARGUMENT (no or bad prompt audio, no transcript, no name), OUT_OF_RANGE
     * (prompt longer than the limit), UNAVAILABLE.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.voxgate.v1.CreateVoiceResponse> createVoice(
        dev.voxgate.v1.CreateVoiceRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateVoiceMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists the built-in voices and the registered ones.
     * Errors: none beyond the service-wide ones.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.voxgate.v1.ListVoicesResponse> listVoices(
        dev.voxgate.v1.ListVoicesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListVoicesMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Deletes a registered voice.
     * Errors: NOT_FOUND (no such voice), FAILED_PRECONDITION (a built-in voice).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.voxgate.v1.DeleteVoiceResponse> deleteVoice(
        dev.voxgate.v1.DeleteVoiceRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteVoiceMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_SYNTHESIZE = 0;
  private static final int METHODID_CREATE_VOICE = 1;
  private static final int METHODID_LIST_VOICES = 2;
  private static final int METHODID_DELETE_VOICE = 3;
  private static final int METHODID_STREAM_SYNTHESIZE = 4;

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
        case METHODID_SYNTHESIZE:
          serviceImpl.synthesize((dev.voxgate.v1.SynthesizeRequest) request,
              (io.grpc.stub.StreamObserver<dev.voxgate.v1.SynthesizeResponse>) responseObserver);
          break;
        case METHODID_CREATE_VOICE:
          serviceImpl.createVoice((dev.voxgate.v1.CreateVoiceRequest) request,
              (io.grpc.stub.StreamObserver<dev.voxgate.v1.CreateVoiceResponse>) responseObserver);
          break;
        case METHODID_LIST_VOICES:
          serviceImpl.listVoices((dev.voxgate.v1.ListVoicesRequest) request,
              (io.grpc.stub.StreamObserver<dev.voxgate.v1.ListVoicesResponse>) responseObserver);
          break;
        case METHODID_DELETE_VOICE:
          serviceImpl.deleteVoice((dev.voxgate.v1.DeleteVoiceRequest) request,
              (io.grpc.stub.StreamObserver<dev.voxgate.v1.DeleteVoiceResponse>) responseObserver);
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
        case METHODID_STREAM_SYNTHESIZE:
          return (io.grpc.stub.StreamObserver<Req>) serviceImpl.streamSynthesize(
              (io.grpc.stub.StreamObserver<dev.voxgate.v1.StreamSynthesizeResponse>) responseObserver);
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getSynthesizeMethod(),
          io.grpc.stub.ServerCalls.asyncServerStreamingCall(
            new MethodHandlers<
              dev.voxgate.v1.SynthesizeRequest,
              dev.voxgate.v1.SynthesizeResponse>(
                service, METHODID_SYNTHESIZE)))
        .addMethod(
          getStreamSynthesizeMethod(),
          io.grpc.stub.ServerCalls.asyncBidiStreamingCall(
            new MethodHandlers<
              dev.voxgate.v1.StreamSynthesizeRequest,
              dev.voxgate.v1.StreamSynthesizeResponse>(
                service, METHODID_STREAM_SYNTHESIZE)))
        .addMethod(
          getCreateVoiceMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.voxgate.v1.CreateVoiceRequest,
              dev.voxgate.v1.CreateVoiceResponse>(
                service, METHODID_CREATE_VOICE)))
        .addMethod(
          getListVoicesMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.voxgate.v1.ListVoicesRequest,
              dev.voxgate.v1.ListVoicesResponse>(
                service, METHODID_LIST_VOICES)))
        .addMethod(
          getDeleteVoiceMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.voxgate.v1.DeleteVoiceRequest,
              dev.voxgate.v1.DeleteVoiceResponse>(
                service, METHODID_DELETE_VOICE)))
        .build();
  }

  private static abstract class SynthesisServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    SynthesisServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.voxgate.v1.SynthesisProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("SynthesisService");
    }
  }

  private static final class SynthesisServiceFileDescriptorSupplier
      extends SynthesisServiceBaseDescriptorSupplier {
    SynthesisServiceFileDescriptorSupplier() {}
  }

  private static final class SynthesisServiceMethodDescriptorSupplier
      extends SynthesisServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    SynthesisServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (SynthesisServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new SynthesisServiceFileDescriptorSupplier())
              .addMethod(getSynthesizeMethod())
              .addMethod(getStreamSynthesizeMethod())
              .addMethod(getCreateVoiceMethod())
              .addMethod(getListVoicesMethod())
              .addMethod(getDeleteVoiceMethod())
              .build();
        }
      }
    }
    return result;
  }
}

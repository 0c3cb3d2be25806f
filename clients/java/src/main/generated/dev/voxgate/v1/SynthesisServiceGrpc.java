package dev.voxgate.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * Text to speech, with voice cloning and style instructions.
 * Errors of every RPC: UNIMPLEMENTED (no synthesis model is deployed on this server, see
 * GetServerInfo), UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED, INTERNAL.
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
   * Text to speech, with voice cloning and style instructions.
   * Errors of every RPC: UNIMPLEMENTED (no synthesis model is deployed on this server, see
   * GetServerInfo), UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED, INTERNAL.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Synthesizes speech from text, streamed in pieces as it is generated.
     * Errors: INVALID_ARGUMENT (empty text, bad prompt audio, prompt audio without its
     * transcript, bad output format, unknown voice), OUT_OF_RANGE (text or prompt too long),
     * UNIMPLEMENTED, UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED.
     * </pre>
     */
    default void synthesize(dev.voxgate.v1.SynthesizeRequest request,
        io.grpc.stub.StreamObserver<dev.voxgate.v1.SynthesizeResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSynthesizeMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service SynthesisService.
   * <pre>
   * Text to speech, with voice cloning and style instructions.
   * Errors of every RPC: UNIMPLEMENTED (no synthesis model is deployed on this server, see
   * GetServerInfo), UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED, INTERNAL.
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
   * Text to speech, with voice cloning and style instructions.
   * Errors of every RPC: UNIMPLEMENTED (no synthesis model is deployed on this server, see
   * GetServerInfo), UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED, INTERNAL.
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
     * Synthesizes speech from text, streamed in pieces as it is generated.
     * Errors: INVALID_ARGUMENT (empty text, bad prompt audio, prompt audio without its
     * transcript, bad output format, unknown voice), OUT_OF_RANGE (text or prompt too long),
     * UNIMPLEMENTED, UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED.
     * </pre>
     */
    public void synthesize(dev.voxgate.v1.SynthesizeRequest request,
        io.grpc.stub.StreamObserver<dev.voxgate.v1.SynthesizeResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getSynthesizeMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service SynthesisService.
   * <pre>
   * Text to speech, with voice cloning and style instructions.
   * Errors of every RPC: UNIMPLEMENTED (no synthesis model is deployed on this server, see
   * GetServerInfo), UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED, INTERNAL.
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
     * Synthesizes speech from text, streamed in pieces as it is generated.
     * Errors: INVALID_ARGUMENT (empty text, bad prompt audio, prompt audio without its
     * transcript, bad output format, unknown voice), OUT_OF_RANGE (text or prompt too long),
     * UNIMPLEMENTED, UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<?, dev.voxgate.v1.SynthesizeResponse>
        synthesize(dev.voxgate.v1.SynthesizeRequest request) {
      return io.grpc.stub.ClientCalls.blockingV2ServerStreamingCall(
          getChannel(), getSynthesizeMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service SynthesisService.
   * <pre>
   * Text to speech, with voice cloning and style instructions.
   * Errors of every RPC: UNIMPLEMENTED (no synthesis model is deployed on this server, see
   * GetServerInfo), UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED, INTERNAL.
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
     * Synthesizes speech from text, streamed in pieces as it is generated.
     * Errors: INVALID_ARGUMENT (empty text, bad prompt audio, prompt audio without its
     * transcript, bad output format, unknown voice), OUT_OF_RANGE (text or prompt too long),
     * UNIMPLEMENTED, UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED.
     * </pre>
     */
    public java.util.Iterator<dev.voxgate.v1.SynthesizeResponse> synthesize(
        dev.voxgate.v1.SynthesizeRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getSynthesizeMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service SynthesisService.
   * <pre>
   * Text to speech, with voice cloning and style instructions.
   * Errors of every RPC: UNIMPLEMENTED (no synthesis model is deployed on this server, see
   * GetServerInfo), UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED, INTERNAL.
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
  }

  private static final int METHODID_SYNTHESIZE = 0;

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
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
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
              .build();
        }
      }
    }
    return result;
  }
}

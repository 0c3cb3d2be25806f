package dev.voxgate.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * What this server offers: models, the token format and limits.
 * Errors of every RPC: UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, INTERNAL, RESOURCE_EXHAUSTED
 * (server busy: with a google.rpc.RetryInfo delay); with token auth on, UNAUTHENTICATED (no or
 * unknown bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class DiscoveryServiceGrpc {

  private DiscoveryServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "voxgate.v1.DiscoveryService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.voxgate.v1.GetServerInfoRequest,
      dev.voxgate.v1.GetServerInfoResponse> getGetServerInfoMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetServerInfo",
      requestType = dev.voxgate.v1.GetServerInfoRequest.class,
      responseType = dev.voxgate.v1.GetServerInfoResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.voxgate.v1.GetServerInfoRequest,
      dev.voxgate.v1.GetServerInfoResponse> getGetServerInfoMethod() {
    io.grpc.MethodDescriptor<dev.voxgate.v1.GetServerInfoRequest, dev.voxgate.v1.GetServerInfoResponse> getGetServerInfoMethod;
    if ((getGetServerInfoMethod = DiscoveryServiceGrpc.getGetServerInfoMethod) == null) {
      synchronized (DiscoveryServiceGrpc.class) {
        if ((getGetServerInfoMethod = DiscoveryServiceGrpc.getGetServerInfoMethod) == null) {
          DiscoveryServiceGrpc.getGetServerInfoMethod = getGetServerInfoMethod =
              io.grpc.MethodDescriptor.<dev.voxgate.v1.GetServerInfoRequest, dev.voxgate.v1.GetServerInfoResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetServerInfo"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.GetServerInfoRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.voxgate.v1.GetServerInfoResponse.getDefaultInstance()))
              .setSchemaDescriptor(new DiscoveryServiceMethodDescriptorSupplier("GetServerInfo"))
              .build();
        }
      }
    }
    return getGetServerInfoMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static DiscoveryServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<DiscoveryServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<DiscoveryServiceStub>() {
        @java.lang.Override
        public DiscoveryServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new DiscoveryServiceStub(channel, callOptions);
        }
      };
    return DiscoveryServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static DiscoveryServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<DiscoveryServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<DiscoveryServiceBlockingV2Stub>() {
        @java.lang.Override
        public DiscoveryServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new DiscoveryServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return DiscoveryServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static DiscoveryServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<DiscoveryServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<DiscoveryServiceBlockingStub>() {
        @java.lang.Override
        public DiscoveryServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new DiscoveryServiceBlockingStub(channel, callOptions);
        }
      };
    return DiscoveryServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static DiscoveryServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<DiscoveryServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<DiscoveryServiceFutureStub>() {
        @java.lang.Override
        public DiscoveryServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new DiscoveryServiceFutureStub(channel, callOptions);
        }
      };
    return DiscoveryServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * What this server offers: models, the token format and limits.
   * Errors of every RPC: UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, INTERNAL, RESOURCE_EXHAUSTED
   * (server busy: with a google.rpc.RetryInfo delay); with token auth on, UNAUTHENTICATED (no or
   * unknown bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Describes the server. Answers even while models are loading (their `ready` is false).
     * </pre>
     */
    default void getServerInfo(dev.voxgate.v1.GetServerInfoRequest request,
        io.grpc.stub.StreamObserver<dev.voxgate.v1.GetServerInfoResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetServerInfoMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service DiscoveryService.
   * <pre>
   * What this server offers: models, the token format and limits.
   * Errors of every RPC: UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, INTERNAL, RESOURCE_EXHAUSTED
   * (server busy: with a google.rpc.RetryInfo delay); with token auth on, UNAUTHENTICATED (no or
   * unknown bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static abstract class DiscoveryServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return DiscoveryServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service DiscoveryService.
   * <pre>
   * What this server offers: models, the token format and limits.
   * Errors of every RPC: UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, INTERNAL, RESOURCE_EXHAUSTED
   * (server busy: with a google.rpc.RetryInfo delay); with token auth on, UNAUTHENTICATED (no or
   * unknown bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static final class DiscoveryServiceStub
      extends io.grpc.stub.AbstractAsyncStub<DiscoveryServiceStub> {
    private DiscoveryServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected DiscoveryServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new DiscoveryServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Describes the server. Answers even while models are loading (their `ready` is false).
     * </pre>
     */
    public void getServerInfo(dev.voxgate.v1.GetServerInfoRequest request,
        io.grpc.stub.StreamObserver<dev.voxgate.v1.GetServerInfoResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetServerInfoMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service DiscoveryService.
   * <pre>
   * What this server offers: models, the token format and limits.
   * Errors of every RPC: UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, INTERNAL, RESOURCE_EXHAUSTED
   * (server busy: with a google.rpc.RetryInfo delay); with token auth on, UNAUTHENTICATED (no or
   * unknown bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static final class DiscoveryServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<DiscoveryServiceBlockingV2Stub> {
    private DiscoveryServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected DiscoveryServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new DiscoveryServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Describes the server. Answers even while models are loading (their `ready` is false).
     * </pre>
     */
    public dev.voxgate.v1.GetServerInfoResponse getServerInfo(dev.voxgate.v1.GetServerInfoRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetServerInfoMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service DiscoveryService.
   * <pre>
   * What this server offers: models, the token format and limits.
   * Errors of every RPC: UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, INTERNAL, RESOURCE_EXHAUSTED
   * (server busy: with a google.rpc.RetryInfo delay); with token auth on, UNAUTHENTICATED (no or
   * unknown bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static final class DiscoveryServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<DiscoveryServiceBlockingStub> {
    private DiscoveryServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected DiscoveryServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new DiscoveryServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Describes the server. Answers even while models are loading (their `ready` is false).
     * </pre>
     */
    public dev.voxgate.v1.GetServerInfoResponse getServerInfo(dev.voxgate.v1.GetServerInfoRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetServerInfoMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service DiscoveryService.
   * <pre>
   * What this server offers: models, the token format and limits.
   * Errors of every RPC: UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, INTERNAL, RESOURCE_EXHAUSTED
   * (server busy: with a google.rpc.RetryInfo delay); with token auth on, UNAUTHENTICATED (no or
   * unknown bearer token) and PERMISSION_DENIED (the token's tenant may not call this service).
   * </pre>
   */
  public static final class DiscoveryServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<DiscoveryServiceFutureStub> {
    private DiscoveryServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected DiscoveryServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new DiscoveryServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Describes the server. Answers even while models are loading (their `ready` is false).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.voxgate.v1.GetServerInfoResponse> getServerInfo(
        dev.voxgate.v1.GetServerInfoRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetServerInfoMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_GET_SERVER_INFO = 0;

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
        case METHODID_GET_SERVER_INFO:
          serviceImpl.getServerInfo((dev.voxgate.v1.GetServerInfoRequest) request,
              (io.grpc.stub.StreamObserver<dev.voxgate.v1.GetServerInfoResponse>) responseObserver);
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
          getGetServerInfoMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.voxgate.v1.GetServerInfoRequest,
              dev.voxgate.v1.GetServerInfoResponse>(
                service, METHODID_GET_SERVER_INFO)))
        .build();
  }

  private static abstract class DiscoveryServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    DiscoveryServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.voxgate.v1.DiscoveryProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("DiscoveryService");
    }
  }

  private static final class DiscoveryServiceFileDescriptorSupplier
      extends DiscoveryServiceBaseDescriptorSupplier {
    DiscoveryServiceFileDescriptorSupplier() {}
  }

  private static final class DiscoveryServiceMethodDescriptorSupplier
      extends DiscoveryServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    DiscoveryServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (DiscoveryServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new DiscoveryServiceFileDescriptorSupplier())
              .addMethod(getGetServerInfoMethod())
              .build();
        }
      }
    }
    return result;
  }
}

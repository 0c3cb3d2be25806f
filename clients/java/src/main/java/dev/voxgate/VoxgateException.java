package dev.voxgate;

import io.grpc.Status;

/**
 * A failed voxgate call: the gRPC status the server (or the channel) returned.
 *
 * <p>{@link #getCode()} is the canonical status code, {@link #getCodeName()} its canonical name
 * (e.g. {@code "INVALID_ARGUMENT"}) and {@link #getStatusMessage()} the server's message.
 */
public class VoxgateException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Status.Code code;
  private final String statusMessage;

  public VoxgateException(Status.Code code, String statusMessage, Throwable cause) {
    super(code.name() + (statusMessage == null || statusMessage.isEmpty() ? "" : ": " + statusMessage), cause);
    this.code = code;
    this.statusMessage = statusMessage == null ? "" : statusMessage;
  }

  /** Wraps any throwable from a gRPC call; a non-gRPC failure becomes UNKNOWN. */
  public static VoxgateException from(Throwable t) {
    if (t instanceof VoxgateException) {
      return (VoxgateException) t;
    }
    Status status = Status.fromThrowable(t);
    return new VoxgateException(status.getCode(), status.getDescription(), t);
  }

  /** The canonical gRPC status code. */
  public Status.Code getCode() {
    return code;
  }

  /** The canonical name of the code, e.g. {@code "DEADLINE_EXCEEDED"}. */
  public String getCodeName() {
    return code.name();
  }

  /** The status message (description) sent with the code; empty when none. */
  public String getStatusMessage() {
    return statusMessage;
  }
}

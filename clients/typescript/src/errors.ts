import { Metadata, status as Status, type ServiceError } from "@grpc/grpc-js";

/** Canonical gRPC status code names, e.g. "INVALID_ARGUMENT". */
export type StatusCodeName = keyof typeof Status;

/** Returns the canonical name of a numeric gRPC status code ("UNKNOWN" for values outside the enum). */
export function statusCodeName(code: number): StatusCodeName {
  const name = (Status as unknown as Record<number, string>)[code];
  return (typeof name === "string" ? name : "UNKNOWN") as StatusCodeName;
}

/**
 * A failed voxgate call: the gRPC status the server (or the client library, e.g. for an expired
 * deadline) ended it with.
 */
export class VoxgateError extends Error {
  /** Numeric gRPC status code (`@grpc/grpc-js` `status` enum). */
  readonly code: Status;
  /** Canonical status code name, e.g. "INVALID_ARGUMENT", "DEADLINE_EXCEEDED". */
  readonly codeName: StatusCodeName;
  /** The status message (details) sent with the status. */
  readonly details: string;
  /** The trailing metadata, when there was any. */
  readonly metadata: Metadata;
  /** The RPC that failed, e.g. "Tokenize". */
  readonly rpc: string;

  constructor(rpc: string, code: Status, details: string, metadata?: Metadata, options?: { cause?: unknown }) {
    const codeName = statusCodeName(code);
    super(`${rpc}: ${codeName}: ${details}`, options);
    this.name = "VoxgateError";
    this.rpc = rpc;
    this.code = code;
    this.codeName = codeName;
    this.details = details;
    this.metadata = metadata ?? new Metadata();
  }

  /** The request id the server reported in its trailers ("x-request-id"), if any. */
  get requestId(): string | undefined {
    const v = this.metadata.get("x-request-id")[0];
    return v === undefined ? undefined : v.toString();
  }
}

function isServiceError(err: unknown): err is ServiceError {
  return (
    err instanceof Error &&
    typeof (err as Partial<ServiceError>).code === "number" &&
    "details" in err
  );
}

/** Converts a grpc-js ServiceError into a VoxgateError; other values are returned unchanged. */
export function toVoxgateError(rpc: string, err: unknown): unknown {
  if (err instanceof VoxgateError) return err;
  if (isServiceError(err)) {
    return new VoxgateError(rpc, err.code, err.details ?? err.message, err.metadata, { cause: err });
  }
  return err;
}

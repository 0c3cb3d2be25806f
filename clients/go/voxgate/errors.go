package voxgate

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// codeNames maps gRPC codes to their canonical names (as in google.rpc.Code and the gRPC spec),
// e.g. "INVALID_ARGUMENT". codes.Code.String() gives Go-style names ("InvalidArgument") instead.
var codeNames = map[codes.Code]string{
	codes.OK:                 "OK",
	codes.Canceled:           "CANCELLED",
	codes.Unknown:            "UNKNOWN",
	codes.InvalidArgument:    "INVALID_ARGUMENT",
	codes.DeadlineExceeded:   "DEADLINE_EXCEEDED",
	codes.NotFound:           "NOT_FOUND",
	codes.AlreadyExists:      "ALREADY_EXISTS",
	codes.PermissionDenied:   "PERMISSION_DENIED",
	codes.ResourceExhausted:  "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION",
	codes.Aborted:            "ABORTED",
	codes.OutOfRange:         "OUT_OF_RANGE",
	codes.Unimplemented:      "UNIMPLEMENTED",
	codes.Internal:           "INTERNAL",
	codes.Unavailable:        "UNAVAILABLE",
	codes.DataLoss:           "DATA_LOSS",
	codes.Unauthenticated:    "UNAUTHENTICATED",
}

// CodeName returns the canonical name of a gRPC status code, e.g. "OUT_OF_RANGE".
func CodeName(c codes.Code) string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("CODE(%d)", uint32(c))
}

// Error is a failed voxgate call: the gRPC status the server (or the client library, for
// deadlines and cancellation) ended it with. Every RPC method of Client returns an *Error on
// failure of the call itself; use errors.As to get it, or CodeOf for just the code.
type Error struct {
	// Code is the gRPC status code.
	Code codes.Code
	// Message is the status message.
	Message string
	// Details are the decoded google.rpc error details, if the server sent any
	// (e.g. *errdetails.BadRequest).
	Details []any
	// RPC is the full method name, e.g. "/voxgate.v1.TokenizerService/Tokenize".
	RPC string

	status *status.Status
}

// CodeName is the canonical name of the status code, e.g. "INVALID_ARGUMENT".
func (e *Error) CodeName() string { return CodeName(e.Code) }

func (e *Error) Error() string {
	return fmt.Sprintf("voxgate: %s failed: %s: %s", e.RPC, e.CodeName(), e.Message)
}

// GRPCStatus lets status.FromError and status.Code see through the wrapper.
func (e *Error) GRPCStatus() *status.Status { return e.status }

// Is makes errors.Is(err, context.DeadlineExceeded) and errors.Is(err, context.Canceled) true
// for the matching status codes.
func (e *Error) Is(target error) bool {
	switch target {
	case context.DeadlineExceeded:
		return e.Code == codes.DeadlineExceeded
	case context.Canceled:
		return e.Code == codes.Canceled
	}
	return false
}

// CodeOf returns the gRPC status code of err: codes.OK for nil, the code of an *Error or any
// gRPC status error, and codes.Unknown otherwise.
func CodeOf(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	var ve *Error
	if errors.As(err, &ve) {
		return ve.Code
	}
	return status.Code(err)
}

// wrapErr turns an error of a gRPC call into an *Error. Context errors raised by the client
// itself (before or without a status from the wire) map to DEADLINE_EXCEEDED / CANCELLED.
func wrapErr(rpc string, err error) error {
	if err == nil {
		return nil
	}
	var ve *Error
	if errors.As(err, &ve) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		st = status.FromContextError(err)
	}
	return &Error{
		Code:    st.Code(),
		Message: st.Message(),
		Details: st.Details(),
		RPC:     rpc,
		status:  st,
	}
}

package voxgate

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Unit tests of the error mapping; they need no server.

func TestCodeName(t *testing.T) {
	for c, want := range map[codes.Code]string{
		codes.OK: "OK", codes.Canceled: "CANCELLED", codes.InvalidArgument: "INVALID_ARGUMENT",
		codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
		codes.OutOfRange: "OUT_OF_RANGE", codes.Unavailable: "UNAVAILABLE", codes.Unauthenticated: "UNAUTHENTICATED",
		codes.Code(99): "CODE(99)",
	} {
		if got := CodeName(c); got != want {
			t.Errorf("CodeName(%v) = %q, want %q", c, got, want)
		}
	}
	if len(codeNames) != 17 {
		t.Errorf("%d code names, want all 17", len(codeNames))
	}
}

func TestWrapErr(t *testing.T) {
	err := wrapErr(methodTokenize, status.Error(codes.OutOfRange, "audio longer than 60 s"))
	var ve *Error
	if !errors.As(err, &ve) {
		t.Fatalf("%T is not *Error", err)
	}
	if ve.Code != codes.OutOfRange || ve.CodeName() != "OUT_OF_RANGE" || ve.Message != "audio longer than 60 s" {
		t.Errorf("got %+v", ve)
	}
	if want := "voxgate: /voxgate.v1.TokenizerService/Tokenize failed: OUT_OF_RANGE: audio longer than 60 s"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if status.Code(err) != codes.OutOfRange || CodeOf(err) != codes.OutOfRange {
		t.Error("status.Code / CodeOf do not see the code")
	}
	if CodeOf(fmt.Errorf("outer: %w", err)) != codes.OutOfRange {
		t.Error("CodeOf does not unwrap")
	}
	if wrapErr(methodTokenize, err) != err {
		t.Error("wrapping twice changed the error")
	}
	if wrapErr(methodTokenize, nil) != nil || CodeOf(nil) != codes.OK {
		t.Error("nil handling")
	}

	dl := wrapErr(methodTokenize, context.DeadlineExceeded)
	if CodeOf(dl) != codes.DeadlineExceeded || !errors.Is(dl, context.DeadlineExceeded) {
		t.Errorf("context.DeadlineExceeded mapped to %v", dl)
	}
	cc := wrapErr(methodTokenize, context.Canceled)
	if CodeOf(cc) != codes.Canceled || !errors.Is(cc, context.Canceled) || errors.Is(cc, context.DeadlineExceeded) {
		t.Errorf("context.Canceled mapped to %v", cc)
	}
	if CodeOf(wrapErr(methodTokenize, errors.New("boom"))) != codes.Unknown {
		t.Error("a plain error is not UNKNOWN")
	}
}

func TestParseWAV(t *testing.T) {
	// 44-byte header + 4 frames of 16-bit stereo.
	h := []byte("RIFF\x34\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x02\x00\x80\x3e\x00\x00\x00\xfa\x00\x00\x04\x00\x10\x00data\x10\x00\x00\x00")
	w, err := parseWAV(append(h, make([]byte, 16)...))
	if err != nil {
		t.Fatal(err)
	}
	if w.numSamples != 4 || w.sampleRate != 16000 || w.channels != 2 || w.bitsPerSample != 16 || w.format != 1 {
		t.Errorf("got %+v", w)
	}
	if _, err := parseWAV([]byte("RIFFxxxxWAVE")); err == nil {
		t.Error("a WAV without chunks parsed")
	}
}

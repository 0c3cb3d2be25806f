package voxgate

// Unit tests of ChatSession against a scripted in-process ChatService (no voxgate needed): the
// send methods, Recv / Events, Turn with text and audio, and the error mapping.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/voxgate/voxgate/clients/go/gen/voxgate/v1"
)

// fakeChat answers each user turn with "You said: <text>" (or "<n> bytes of audio" for speech)
// as two text deltas, a WAV reply (an empty piece with tokens, then the file) unless text_only,
// and a TurnEnd. Audio without an input format, or a playback ack of an unknown turn, ends the
// call with INVALID_ARGUMENT, as the real server does.
type fakeChat struct {
	pb.UnimplementedChatServiceServer

	mu       sync.Mutex
	requests []*pb.ChatRequest
}

func (f *fakeChat) Chat(stream grpc.BidiStreamingServer[pb.ChatRequest, pb.ChatResponse]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	config := first.GetConfig()
	if config == nil {
		return status.Error(codes.InvalidArgument, "the first message must be a config")
	}
	turn := int32(0)
	var text string
	var audio []int
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		f.mu.Lock()
		f.requests = append(f.requests, req)
		f.mu.Unlock()
		switch m := req.GetMessage().(type) {
		case *pb.ChatRequest_Config:
			return status.Error(codes.InvalidArgument, "a second config")
		case *pb.ChatRequest_Playback:
			if m.Playback.GetTurnIndex() >= turn {
				return status.Errorf(codes.InvalidArgument, "playback ack for unknown turn %d", m.Playback.GetTurnIndex())
			}
		case *pb.ChatRequest_Input:
			in := m.Input
			switch c := in.GetContent().(type) {
			case *pb.UserInput_Text:
				text += c.Text
			case *pb.UserInput_Audio:
				if config.GetInputFormat() == nil {
					return status.Error(codes.InvalidArgument, "audio without input_format")
				}
				audio = append(audio, len(c.Audio))
			}
			if !in.GetEndOfTurn() {
				continue
			}
			send := func(r *pb.ChatResponse) error {
				r.RequestId = "fake-request"
				r.TurnIndex = turn
				return stream.Send(r)
			}
			user := text
			if len(audio) > 0 {
				n := 0
				for _, a := range audio {
					n += a
				}
				heard := fmt.Sprintf("%d bytes of audio in %d pieces", n, len(audio))
				for _, final := range []bool{false, true} {
					if err := send(&pb.ChatResponse{Message: &pb.ChatResponse_Transcript{
						Transcript: &pb.Transcript{Text: heard, IsFinal: final}}}); err != nil {
						return err
					}
				}
				user = strings.TrimSpace(heard + " " + text)
			}
			deltas := []string{"You said: ", user}
			for _, d := range deltas {
				if err := send(&pb.ChatResponse{Message: &pb.ChatResponse_TextDelta{TextDelta: d}}); err != nil {
					return err
				}
			}
			seconds := 0.0
			if !config.GetTextOnly() {
				wav := fakeWAV(2400, 24000)
				format := &pb.OutputAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_WAV,
					Encoding: pb.PcmEncoding_PCM_ENCODING_S16LE, SampleRateHz: 24000}
				seconds = 0.1
				if err := send(&pb.ChatResponse{
					Message:     &pb.ChatResponse_Audio{Audio: &pb.AudioOutput{Format: format}},
					AudioTokens: []int32{1, 2, 1100, 1200, 1300},
					Words:       []*pb.WordTiming{{Word: "You", StartMs: 0, EndMs: 50}},
				}); err != nil {
					return err
				}
				if err := send(&pb.ChatResponse{
					Message:      &pb.ChatResponse_Audio{Audio: &pb.AudioOutput{Data: wav, Format: format, DurationSeconds: seconds}},
					StartSeconds: seconds,
				}); err != nil {
					return err
				}
			}
			full := strings.Join(deltas, "")
			if err := send(&pb.ChatResponse{Message: &pb.ChatResponse_TurnEnd{TurnEnd: &pb.TurnEnd{
				Text: full, UserTranscript: user, HeardText: full, ReplyTokens: 5, AudioSeconds: seconds,
				Latency: &pb.TurnLatency{FirstTextMs: 1},
			}}}); err != nil {
				return err
			}
			turn++
			text, audio = "", nil
		}
	}
}

// fakeWAV is a mono 16-bit WAV file of n silent samples.
func fakeWAV(n, rate int) []byte {
	b := make([]byte, 44+2*n)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(2*rate))
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	return b
}

// fakeChatClient serves a fakeChat on a loopback port and returns a client of it.
func fakeChatClient(t *testing.T) (*Client, *fakeChat) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	fake := &fakeChat{}
	pb.RegisterChatServiceServer(srv, fake)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	c, err := Dial(lis.Addr().String(), WithStreamTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, fake
}

func TestChatFakeTextTurns(t *testing.T) {
	c, _ := fakeChatClient(t)
	s, err := c.Chat(context.Background(), ChatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, text := range []string{"hello", "again"} {
		var events int
		r, err := s.Turn(TurnInput{Text: text, OnEvent: func(*pb.ChatResponse) error { events++; return nil }})
		if err != nil {
			t.Fatal(err)
		}
		if r.Text != "You said: "+text || r.End.GetText() != r.Text || r.End.GetUserTranscript() != text {
			t.Errorf("turn %d: text %q, end %v", i, r.Text, r.End)
		}
		if r.TurnIndex != i || r.RequestID != "fake-request" || r.Messages != 5 || events != 5 || r.AudioMessages != 2 {
			t.Errorf("turn %d: index %d, request %q, %d messages (%d events, %d audio)", i, r.TurnIndex, r.RequestID, r.Messages, events, r.AudioMessages)
		}
		w, err := parseWAV(r.Audio)
		if err != nil || w.numSamples != 2400 || r.Format.GetSampleRateHz() != 24000 {
			t.Errorf("turn %d: audio %+v, %v, format %v", i, w, err, r.Format)
		}
		if len(r.AudioTokens) != 5 || len(r.Words) != 1 {
			t.Errorf("turn %d: %d tokens, %d words", i, len(r.AudioTokens), len(r.Words))
		}
	}
	// The send methods one by one, then the receive side as an iterator.
	if err := s.SendText("a "); err != nil {
		t.Fatal(err)
	}
	if err := s.SendText("b"); err != nil {
		t.Fatal(err)
	}
	if err := s.EndTurn(); err != nil {
		t.Fatal(err)
	}
	if err := s.AckPlayback(1, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := s.Interrupt(); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseSend(); err != nil {
		t.Errorf("second CloseSend: %v", err)
	}
	if err := s.SendText("late"); err == nil {
		t.Error("SendText after CloseSend succeeded")
	}
	var reply Reply
	n := 0
	for m, err := range s.Events() {
		if err != nil {
			t.Fatal(err)
		}
		n++
		reply.Add(m)
	}
	if n != 5 || reply.Text != "You said: a b" || reply.TurnIndex != 2 || reply.End == nil {
		t.Errorf("after CloseSend: %d messages, reply %+v", n, reply)
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Errorf("Recv after the end = %v, want io.EOF", err)
	}
	if s.Err() != nil {
		t.Errorf("Err() = %v after a clean end", s.Err())
	}
}

func TestChatFakeAudioTurn(t *testing.T) {
	c, fake := fakeChatClient(t)
	s, err := c.Chat(context.Background(), ChatOptions{
		InputFormat:   &pb.StreamAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_WAV},
		TurnDetection: &pb.TurnDetection{Mode: pb.TurnDetectionMode_TURN_DETECTION_MODE_MANUAL},
		TextOnly:      true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wav := fakeWAV(50000, 16000) // 100 044 bytes: 4 pieces of 32 KiB (the last one shorter)
	r, err := s.Turn(TurnInput{Audio: strings.NewReader(string(wav))})
	if err != nil {
		t.Fatal(err)
	}
	want := "100044 bytes of audio in 4 pieces"
	if r.Transcript != want || r.End.GetUserTranscript() != want || len(r.Audio) != 0 || r.AudioMessages != 0 {
		t.Errorf("transcript %q, user %q, %d audio bytes in %d messages", r.Transcript, r.End.GetUserTranscript(), len(r.Audio), r.AudioMessages)
	}
	fake.mu.Lock()
	last := fake.requests[len(fake.requests)-1].GetInput()
	fake.mu.Unlock()
	if !last.GetEndOfTurn() || last.GetContent() != nil {
		t.Errorf("the turn did not end with a bare end_of_turn: %v", last)
	}
	// Text and audio in one turn, in smaller pieces.
	r, err = s.Turn(TurnInput{Text: "and text", Audio: strings.NewReader(string(wav[:1000])), ChunkBytes: 300})
	if err != nil {
		t.Fatal(err)
	}
	if want := "1000 bytes of audio in 4 pieces and text"; r.End.GetUserTranscript() != want || r.TurnIndex != 1 {
		t.Errorf("user %q (turn %d), want %q", r.End.GetUserTranscript(), r.TurnIndex, want)
	}
}

func TestChatFakeErrors(t *testing.T) {
	c, _ := fakeChatClient(t)
	ctx := context.Background()

	// Audio without an input format: INVALID_ARGUMENT, through Turn and through Recv.
	s, err := c.Chat(ctx, ChatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Turn(TurnInput{Audio: strings.NewReader("RIFF....WAVE")})
	var ve *Error
	if !errors.As(err, &ve) || ve.CodeName() != "INVALID_ARGUMENT" || ve.RPC != methodChat {
		t.Fatalf("Turn = %v, want an INVALID_ARGUMENT *Error of %s", err, methodChat)
	}
	if CodeOf(s.Err()) != codes.InvalidArgument {
		t.Errorf("Err() = %v", s.Err())
	}
	// Sends after the end report the status (or ErrChatEnded).
	if err := s.SendText("more"); CodeOf(err) != codes.InvalidArgument && !errors.Is(err, ErrChatEnded) {
		t.Errorf("send after the end = %v", err)
	}
	s.Close()

	s, err = c.Chat(ctx, ChatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AckPlayback(7, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); CodeName(CodeOf(err)) != "INVALID_ARGUMENT" {
		t.Errorf("Recv after a bad playback ack = %v", err)
	}
	s.Close()

	// A failure reading the audio ends the conversation and is what Turn returns.
	s, err = c.Chat(ctx, ChatOptions{InputFormat: &pb.StreamAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_WAV}})
	if err != nil {
		t.Fatal(err)
	}
	broken := errors.New("disk on fire")
	_, err = s.Turn(TurnInput{Audio: io.MultiReader(strings.NewReader("RIFF"), &failingReader{broken})})
	if !errors.Is(err, broken) {
		t.Errorf("Turn with a failing reader = %v, want %v", err, broken)
	}
	s.Close()

	// An OnEvent error ends the conversation and is what Turn returns.
	s, err = c.Chat(ctx, ChatOptions{TextOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("enough")
	if _, err := s.Turn(TurnInput{Text: "hi", OnEvent: func(*pb.ChatResponse) error { return stop }}); !errors.Is(err, stop) {
		t.Errorf("Turn with a failing OnEvent = %v", err)
	}
	for { // (messages that arrived before the cancel may still come)
		if _, err := s.Recv(); err != nil {
			if CodeOf(err) != codes.Canceled {
				t.Errorf("Recv after OnEvent failed = %v, want CANCELLED", err)
			}
			break
		}
	}
	if _, err := s.Turn(TurnInput{}); err == nil {
		t.Error("an empty TurnInput was accepted")
	}

	// The end of the conversation before a TurnEnd.
	s, err = c.Chat(ctx, ChatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.CloseSend()
	if _, err := s.ReceiveReply(nil); err == nil || CodeOf(err) != codes.Unknown {
		t.Errorf("ReceiveReply at the end = %v, want a plain error", err)
	}
	s.Close()
}

type failingReader struct{ err error }

func (r *failingReader) Read([]byte) (int, error) { return 0, r.err }

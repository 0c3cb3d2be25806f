package voxgate

// ChatService against a live voxgate: a text turn, a spoken turn (speech made by the server's
// own Synthesize), a text-only conversation, an error, and the example CLI. The server runs a
// small language model on CPU, so replies are kept short (24 tokens, greedy) and every
// conversation has a deadline.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/voxgate/voxgate/clients/go/gen/voxgate/v1"
)

// chatTestTimeout bounds each live conversation.
const chatTestTimeout = 60 * time.Second

const chatQuestion = "What is the capital of France?"

// chatTestOptions are short greedy replies in MANUAL turn detection.
func chatTestOptions() ChatOptions {
	return ChatOptions{
		MaxReplyTokens: 24,
		Temperature:    proto.Float32(0),
		TurnDetection:  &pb.TurnDetection{Mode: pb.TurnDetectionMode_TURN_DETECTION_MODE_MANUAL},
		OutputFormat:   &pb.OutputAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_WAV},
	}
}

func chatCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), chatTestTimeout)
	t.Cleanup(cancel)
	return ctx
}

// spokenQuestion is chatQuestion spoken by the server's reference voice, as a WAV file.
func spokenQuestion(t *testing.T, c *Client) []byte {
	t.Helper()
	speech, err := c.Synthesize(chatCtx(t), chatQuestion, SynthesisOptions{
		Format: &pb.OutputAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_WAV},
	})
	if err != nil {
		t.Fatal(err)
	}
	if w, err := parseWAV(speech.Audio); err != nil || w.numSamples == 0 {
		t.Fatalf("synthesized question: %+v, %v", w, err)
	}
	return speech.Audio
}

// finish half-closes the conversation and checks that it then ends OK with no more messages.
func finish(t *testing.T, s *ChatSession) {
	t.Helper()
	if err := s.CloseSend(); err != nil {
		t.Fatal(err)
	}
	for m, err := range s.Events() {
		if err != nil {
			t.Fatalf("the end of the conversation: %v", err)
		}
		t.Errorf("a message after the last reply's TurnEnd: %v", m)
	}
}

func TestChatTextTurn(t *testing.T) {
	c := newClient(t)
	s, err := c.Chat(chatCtx(t), chatTestOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var msgs []*pb.ChatResponse
	r, err := s.Turn(TurnInput{
		Text:    "Say hello in five words.",
		OnEvent: func(m *pb.ChatResponse) error { msgs = append(msgs, m); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	var deltas strings.Builder
	for i, m := range msgs {
		if m.GetTurnIndex() != 0 {
			t.Errorf("message %d has turn_index %d, want 0", i, m.GetTurnIndex())
		}
		if m.GetRequestId() == "" || m.GetRequestId() != msgs[0].GetRequestId() {
			t.Errorf("message %d: request id %q (first %q)", i, m.GetRequestId(), msgs[0].GetRequestId())
		}
		if _, ok := m.GetMessage().(*pb.ChatResponse_TurnEnd); ok != (i == len(msgs)-1) {
			t.Errorf("message %d of %d: TurnEnd %v", i, len(msgs), ok)
		}
		deltas.WriteString(m.GetTextDelta())
	}
	end := r.End
	if end == nil || strings.TrimSpace(end.GetText()) == "" {
		t.Fatalf("TurnEnd %v: empty reply", end)
	}
	if deltas.String() != end.GetText() || r.Text != end.GetText() {
		t.Errorf("text deltas join to %q, TurnEnd.text %q", deltas.String(), end.GetText())
	}
	if r.TurnIndex != 0 || end.GetInterrupted() || end.GetReplyTokens() <= 0 || end.GetReplyTokens() > 24 {
		t.Errorf("turn %d, interrupted %v, %d reply tokens (max 24)", r.TurnIndex, end.GetInterrupted(), end.GetReplyTokens())
	}
	if end.GetHeardText() != end.GetText() {
		t.Errorf("heard_text %q of an uninterrupted reply, text %q", end.GetHeardText(), end.GetText())
	}
	w, err := parseWAV(r.Audio)
	if err != nil {
		t.Fatalf("reply audio (%d bytes in %d messages): %v", len(r.Audio), r.AudioMessages, err)
	}
	if w.numSamples == 0 || w.sampleRate == 0 || w.bitsPerSample != 16 || w.sampleRate != int(r.Format.GetSampleRateHz()) {
		t.Errorf("reply WAV %+v, format %v", w, r.Format)
	}
	if end.GetAudioSeconds() <= 0 {
		t.Errorf("TurnEnd.audio_seconds %v", end.GetAudioSeconds())
	}
	if len(r.AudioTokens) == 0 || len(r.AudioTokens)%5 != 0 {
		t.Errorf("%d audio tokens, want whole groups", len(r.AudioTokens))
	}
	t.Logf("reply %q: %d tokens, %.2f s of audio, latency %v", end.GetText(), end.GetReplyTokens(), end.GetAudioSeconds(), end.GetLatency())
	finish(t, s)
}

func TestChatSpokenTurn(t *testing.T) {
	c := newClient(t)
	question := spokenQuestion(t, c)
	opts := chatTestOptions()
	opts.InputFormat = &pb.StreamAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_WAV}
	opts.TextOnly = true // the reply's speech is covered by the other tests
	s, err := c.Chat(chatCtx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var finals []string
	r, err := s.Turn(TurnInput{
		Audio: strings.NewReader(string(question)),
		OnEvent: func(m *pb.ChatResponse) error {
			if tr := m.GetTranscript(); tr != nil && tr.GetIsFinal() {
				finals = append(finals, tr.GetText())
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(finals) != 1 {
		t.Errorf("%d final transcripts %q, want 1", len(finals), finals)
	}
	heard := strings.ToLower(r.Transcript)
	if !strings.Contains(heard, "capital") && !strings.Contains(heard, "france") {
		t.Errorf("final transcript %q has neither \"capital\" nor \"France\"", r.Transcript)
	}
	if strings.TrimSpace(r.End.GetUserTranscript()) == "" {
		t.Errorf("TurnEnd.user_transcript is empty (transcript %q)", r.Transcript)
	}
	if strings.TrimSpace(r.End.GetText()) == "" || r.TurnIndex != 0 {
		t.Errorf("reply %q in turn %d", r.End.GetText(), r.TurnIndex)
	}
	t.Logf("heard %q, replied %q, latency %v", r.Transcript, r.End.GetText(), r.End.GetLatency())
	finish(t, s)
}

func TestChatTextOnly(t *testing.T) {
	c := newClient(t)
	opts := chatTestOptions()
	opts.TextOnly = true
	s, err := c.Chat(chatCtx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Two turns with the send methods and the iterator: text in pieces, then the end of the turn.
	for turn := range 2 {
		for _, piece := range []string{"Name a ", "color."} {
			if err := s.SendText(piece); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.EndTurn(); err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		var end *pb.TurnEnd
		for m, err := range s.Events() {
			if err != nil {
				t.Fatal(err)
			}
			if m.GetAudio() != nil || len(m.GetAudioTokens()) > 0 {
				t.Fatalf("an audio message in text-only mode: %v", m)
			}
			if int(m.GetTurnIndex()) != turn {
				t.Errorf("turn_index %d in turn %d", m.GetTurnIndex(), turn)
			}
			text.WriteString(m.GetTextDelta())
			if end = m.GetTurnEnd(); end != nil {
				break
			}
		}
		if end == nil {
			t.Fatal("no TurnEnd")
		}
		if text.String() != end.GetText() || end.GetText() == "" || end.GetAudioSeconds() != 0 {
			t.Errorf("turn %d: deltas %q, TurnEnd %v", turn, text.String(), end)
		}
		if !strings.Contains(end.GetUserTranscript(), "color") {
			t.Errorf("turn %d: user_transcript %q, want the typed text", turn, end.GetUserTranscript())
		}
	}
	finish(t, s)
}

func TestChatAudioWithoutInputFormat(t *testing.T) {
	c := newClient(t)
	s, err := c.Chat(chatCtx(t), chatTestOptions()) // no InputFormat
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Turn(TurnInput{Audio: strings.NewReader(string(fakeWAV(16000, 16000)))})
	var ve *Error
	if !errors.As(err, &ve) || ve.CodeName() != "INVALID_ARGUMENT" || ve.RPC != methodChat {
		t.Fatalf("audio without input_format: %v, want an INVALID_ARGUMENT *voxgate.Error", err)
	}
	if CodeOf(s.Err()) != ve.Code {
		t.Errorf("Err() = %v", s.Err())
	}
	t.Logf("%v", err)
}

func TestChatExampleCLI(t *testing.T) {
	// The example CLI (built by test.sh into .bin): a spoken turn and a text turn, each reply
	// written as a WAV file.
	bin := os.Getenv("VOXGATE_CHAT_CLI")
	if bin == "" {
		t.Skip("VOXGATE_CHAT_CLI is not set (clients/go/test.sh builds and sets it)")
	}
	c := newClient(t)
	dir := t.TempDir()
	question := filepath.Join(dir, "question.wav")
	if err := os.WriteFile(question, spokenQuestion(t, c), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, turn := range [][]string{{"-audio", question}, {"-text", "Say hello."}} {
		out := filepath.Join(dir, "reply.wav")
		os.Remove(out)
		args := append([]string{"-addr", liveAddr(t), "-out", out, "-max-tokens", "24", "-temperature", "0",
			"-timeout", chatTestTimeout.String()}, turn...)
		cmd := exec.Command(bin, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s%s", cmd, err, stdout, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "user: ") || !strings.HasPrefix(lines[1], "assistant: ") ||
			len(lines[1]) <= len("assistant: ") {
			t.Errorf("%s printed %q", turn[0], stdout)
		}
		if turn[0] == "-audio" {
			heard := strings.ToLower(lines[0])
			if !strings.Contains(heard, "capital") && !strings.Contains(heard, "france") {
				t.Errorf("the user transcript %q has neither \"capital\" nor \"France\"", lines[0])
			}
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if w, err := parseWAV(data); err != nil || w.numSamples == 0 || w.sampleRate == 0 {
			t.Errorf("%s: reply WAV %+v, %v", turn[0], w, err)
		}
		t.Logf("%s: %s%s", turn[0], stdout, stderr.String())
	}
}

package voxgate

// Synthesis conformance against a live voxgate: the "synthesize" cases of
// conformance/manifest.json through Synthesize, SynthesizeToFile and StreamSynthesize, and the
// voice registry calls.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	pb "github.com/voxgate/voxgate/clients/go/gen/voxgate/v1"
)

// checkSpeech checks a whole answer against a case: tokens, group count, the final flag on the
// last message only, the report, and the WAV in the final message.
func checkSpeech(t *testing.T, what string, s *Speech, msgs []*pb.SynthesizeResponse, tc synthesizeCase) {
	t.Helper()
	if !slices.Equal(s.Tokens, tc.Interleaved) {
		t.Errorf("%s: tokens = %v, want %v", what, s.Tokens, tc.Interleaved)
	}
	if s.GroupCount != tc.GroupCount {
		t.Errorf("%s: group count = %d, want %d", what, s.GroupCount, tc.GroupCount)
	}
	if len(msgs) == 0 || !msgs[len(msgs)-1].GetFinal() {
		t.Fatalf("%s: the last of %d messages is not final", what, len(msgs))
	}
	if s.Messages != len(msgs) {
		t.Errorf("%s: Speech.Messages = %d, %d messages seen", what, s.Messages, len(msgs))
	}
	for i, m := range msgs {
		if m.GetFinal() && i != len(msgs)-1 {
			t.Errorf("%s: message %d of %d is final", what, i, len(msgs))
		}
		if len(m.GetAudioTokens())%5 != 0 {
			t.Errorf("%s: message %d has %d tokens, not whole groups", what, i, len(m.GetAudioTokens()))
		}
		if m.GetRequestId() != msgs[0].GetRequestId() {
			t.Errorf("%s: request id of message %d changed", what, i)
		}
		if i > 0 && m.GetReport() != nil {
			t.Errorf("%s: a report in message %d (only the first carries one)", what, i)
		}
	}
	if msgs[0].GetReport() == nil || s.Report == nil {
		t.Errorf("%s: no report in the first message", what)
	} else {
		if tc.Voice != "" && s.Report.GetVoice() != tc.Voice {
			t.Errorf("%s: report voice %q, want %q", what, s.Report.GetVoice(), tc.Voice)
		}
		// (StreamSynthesize's report covers only the text spoken when it was sent.)
		if tc.NormalizedText != nil && what == "Synthesize" && s.Report.GetNormalizedText() != *tc.NormalizedText {
			t.Errorf("%s: normalized text %q, want %q", what, s.Report.GetNormalizedText(), *tc.NormalizedText)
		}
	}
	if s.RequestID == "" {
		t.Errorf("%s: empty request id", what)
	}
	w, err := parseWAV(s.Audio)
	if err != nil {
		t.Fatalf("%s: audio of the final message: %v", what, err)
	}
	if w.sampleRate != tc.SampleRateHz || int(s.Format.GetSampleRateHz()) != tc.SampleRateHz {
		t.Errorf("%s: rate %d (format %d), want %d", what, w.sampleRate, s.Format.GetSampleRateHz(), tc.SampleRateHz)
	}
	if tc.NumSamples != 0 && w.numSamples != tc.NumSamples {
		t.Errorf("%s: %d samples, want %d", what, w.numSamples, tc.NumSamples)
	}
	if w.format != 1 || w.bitsPerSample != 16 || s.Format.GetContainer() != pb.AudioContainer_AUDIO_CONTAINER_WAV {
		t.Errorf("%s: audio is %v (WAV tag %d, %d bits), want WAV S16LE", what, s.Format, w.format, w.bitsPerSample)
	}
	if s.DurationSeconds <= 0 {
		t.Errorf("%s: duration %v", what, s.DurationSeconds)
	}
}

func TestSynthesize(t *testing.T) {
	m := loadManifest(t)
	c := newClient(t)
	for _, tc := range m.Synthesize {
		t.Run(tc.Name, func(t *testing.T) {
			var msgs []*pb.SynthesizeResponse
			opts := tc.options()
			opts.OnPiece = func(r *pb.SynthesizeResponse) error { msgs = append(msgs, r); return nil }
			s, err := c.Synthesize(context.Background(), tc.Text, opts)
			if err != nil {
				t.Fatal(err)
			}
			checkSpeech(t, "Synthesize", s, msgs, tc)
		})
	}
}

func TestSynthesizeToFile(t *testing.T) {
	m := loadManifest(t)
	c := newClient(t)
	tc := m.Synthesize[0]
	path := filepath.Join(t.TempDir(), "out.wav")
	opts := tc.options()
	opts.Format = nil // SynthesizeToFile asks for WAV itself
	s, err := c.SynthesizeToFile(context.Background(), tc.Text, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(data, s.Audio) || !slices.Equal(s.Tokens, tc.Interleaved) {
		t.Fatalf("file of %d bytes, %d tokens; want the %d-byte WAV and %d tokens", len(data), len(s.Tokens), len(s.Audio), len(tc.Interleaved))
	}
	if w, err := parseWAV(data); err != nil || w.sampleRate != tc.SampleRateHz {
		t.Fatalf("written WAV: %+v, %v; want rate %d", w, err, tc.SampleRateHz)
	}
}

func TestSynthesizeRaw(t *testing.T) {
	// RAW arrives piece by piece: the PCM of all pieces is the WAV's sample data.
	m := loadManifest(t)
	c := newClient(t)
	tc := m.Synthesize[0]
	opts := tc.options()
	opts.Format = &pb.OutputAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_RAW, Encoding: pb.PcmEncoding_PCM_ENCODING_S16LE}
	s, err := c.Synthesize(context.Background(), tc.Text, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Tokens, tc.Interleaved) {
		t.Errorf("tokens differ from the WAV request's")
	}
	if tc.NumSamples != 0 && len(s.Audio) != 2*tc.NumSamples {
		t.Errorf("%d bytes of S16LE PCM, want %d", len(s.Audio), 2*tc.NumSamples)
	}
}

func TestStreamSynthesize(t *testing.T) {
	m := loadManifest(t)
	c := newClient(t)
	n := 0
	for _, tc := range m.Synthesize {
		if len(tc.StreamPieces) == 0 {
			continue
		}
		n++
		if got := strings.Join(tc.StreamPieces, ""); got != tc.Text {
			t.Fatalf("%s: stream_pieces join to %q, not the text %q", tc.Name, got, tc.Text)
		}
		t.Run(tc.Name, func(t *testing.T) {
			var msgs []*pb.SynthesizeResponse
			opts := tc.options()
			opts.OnPiece = func(r *pb.SynthesizeResponse) error { msgs = append(msgs, r); return nil }
			s, err := c.StreamSynthesize(context.Background(), slices.Values(tc.StreamPieces), opts)
			if err != nil {
				t.Fatal(err)
			}
			checkSpeech(t, "StreamSynthesize", s, msgs, tc)
		})
		t.Run(tc.Name+"/channel", func(t *testing.T) {
			ch := make(chan string)
			go func() {
				defer close(ch)
				for _, p := range tc.StreamPieces {
					ch <- p
				}
			}()
			s, err := c.StreamSynthesize(context.Background(), TextsFrom(ch), tc.options())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Tokens, tc.Interleaved) {
				t.Errorf("tokens = %v, want %v", s.Tokens, tc.Interleaved)
			}
		})
	}
	if n == 0 {
		t.Fatal("no synthesize case has stream_pieces")
	}
}

func TestOnPieceErrorCancels(t *testing.T) {
	m := loadManifest(t)
	c := newClient(t)
	stop := errors.New("enough")
	_, err := c.Synthesize(context.Background(), m.Synthesize[0].Text, SynthesisOptions{
		OnPiece: func(*pb.SynthesizeResponse) error { return stop },
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the OnPiece error", err)
	}
}

func TestVoices(t *testing.T) {
	m := loadManifest(t)
	c := newClient(t)
	ctx := context.Background()
	voices, err := c.ListVoices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var builtin string
	for _, v := range voices {
		if v.GetBuiltin() {
			builtin = v.GetId()
			break
		}
	}
	if builtin == "" {
		t.Fatalf("no built-in voice among %v", voices)
	}
	if err := c.DeleteVoice(ctx, builtin); CodeName(CodeOf(err)) != "FAILED_PRECONDITION" {
		t.Errorf("DeleteVoice(%q) = %v, want FAILED_PRECONDITION", builtin, err)
	}

	// The conformance recording says "The quick brown fox jumps over the lazy dog."
	prompt := m.read(t, "audio/speech_22k_mono.wav")
	name := fmt.Sprintf("go-client-test-%d", os.Getpid())
	v, err := c.CreateVoice(ctx, name, prompt, "The quick brown fox jumps over the lazy dog.",
		VoiceOptions{ConsentNote: "synthetic espeak-ng recording"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.DeleteVoice(ctx, v.GetId()) // when a check below fails
	if v.GetId() == "" || v.GetName() != name || v.GetBuiltin() || v.GetPromptSeconds() <= 0 {
		t.Errorf("created voice %v", v)
	}
	voices, err = c.ListVoices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(voices, func(x *pb.Voice) bool { return x.GetId() == v.GetId() }) {
		t.Errorf("ListVoices does not list the new voice %s", v.GetId())
	}
	s, err := c.Synthesize(ctx, "Hello from a cloned voice.", SynthesisOptions{Voice: v.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if s.Report.GetVoice() != v.GetId() || s.GroupCount == 0 {
		t.Errorf("synthesis with the new voice: voice %q, %d groups", s.Report.GetVoice(), s.GroupCount)
	}
	if err := c.DeleteVoice(ctx, v.GetId()); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteVoice(ctx, v.GetId()); CodeName(CodeOf(err)) != "NOT_FOUND" {
		t.Errorf("second DeleteVoice = %v, want NOT_FOUND", err)
	}
}

func TestSynthesizeExampleCLI(t *testing.T) {
	// The example CLI (built by test.sh into .bin) writes a WAV with the case's audio.
	bin := os.Getenv("VOXGATE_SYNTHESIZE_CLI")
	if bin == "" {
		t.Skip("VOXGATE_SYNTHESIZE_CLI is not set (clients/go/test.sh builds and sets it)")
	}
	m := loadManifest(t)
	tc := m.Synthesize[0]
	for _, stream := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "out.wav")
		args := []string{"-addr", liveAddr(t), "-o", out}
		if stream {
			args = append(args, "-stream")
		}
		cmd := exec.Command(bin, append(args, tc.Text)...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, msg)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		w, err := parseWAV(data)
		if err != nil || w.sampleRate != tc.SampleRateHz || (tc.NumSamples != 0 && w.numSamples != tc.NumSamples) {
			t.Errorf("-stream=%v: WAV %+v, %v; want %d samples at %d Hz", stream, w, err, tc.NumSamples, tc.SampleRateHz)
		}
	}
}

func TestSynthesizeOggPages(t *testing.T) {
	// Ogg/Opus pages are sent as they fill; Speech.Audio joins them into one Ogg stream.
	m := loadManifest(t)
	c := newClient(t)
	tc := m.Synthesize[0]
	opts := tc.options()
	opts.Format = &pb.OutputAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_OGG, SampleRateHz: 16000}
	s, err := c.Synthesize(context.Background(), tc.Text, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Audio) < 4 || string(s.Audio[:4]) != "OggS" || s.Format.GetContainer() != pb.AudioContainer_AUDIO_CONTAINER_OGG {
		t.Fatalf("%d bytes (format %v), want an Ogg stream", len(s.Audio), s.Format)
	}
	if !slices.Equal(s.Tokens, tc.Interleaved) {
		t.Errorf("tokens differ from the WAV request's")
	}
}

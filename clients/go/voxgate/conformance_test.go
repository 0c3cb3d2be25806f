package voxgate

// Conformance tests against a live voxgate: every case of conformance/manifest.json (format in
// conformance/README.md), plus server info and deadlines.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/voxgate/voxgate/clients/go/gen/voxgate/v1"
)

type manifest struct {
	Version          int              `json:"version"`
	StreamChunkBytes []int            `json:"stream_chunk_bytes"`
	Tokenize         []tokenizeCase   `json:"tokenize"`
	Detokenize       []detokenizeCase `json:"detokenize"`
	Synthesize       []synthesizeCase `json:"synthesize"`
	Errors           []errorCase      `json:"errors"`

	dir string
}

type tokenizeCase struct {
	Name        string  `json:"name"`
	File        string  `json:"file"`
	GroupCount  int     `json:"group_count"`
	Linguistic  []int32 `json:"linguistic"`
	Semantic    []int32 `json:"semantic"`
	Interleaved []int32 `json:"interleaved"`
	Text        string  `json:"text"`
}

type detokenizeCase struct {
	Name         string  `json:"name"`
	Interleaved  []int32 `json:"interleaved"`
	GroupCount   int     `json:"group_count"`
	NumSamples   int     `json:"num_samples"`
	SampleRateHz int     `json:"sample_rate_hz"`
	WavSha256    string  `json:"wav_sha256"`
}

type synthesizeCase struct {
	Name             string   `json:"name"`
	Text             string   `json:"text"`
	Voice            string   `json:"voice"`
	StyleInstruction string   `json:"style_instruction"`
	StreamPieces     []string `json:"stream_pieces"`
	Interleaved      []int32  `json:"interleaved"`
	GroupCount       int      `json:"group_count"`
	SampleRateHz     int      `json:"sample_rate_hz"`
	NumSamples       int      `json:"num_samples"`
	NormalizedText   *string  `json:"normalized_text"`
}

func (tc synthesizeCase) options() SynthesisOptions {
	return SynthesisOptions{
		Voice:            tc.Voice,
		StyleInstruction: tc.StyleInstruction,
		Format:           &pb.OutputAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_WAV},
	}
}

type errorCase struct {
	Name          string `json:"name"`
	RPC           string `json:"rpc"`
	ContainerFile string `json:"container_file"`
	Raw           *struct {
		Encoding     string `json:"encoding"`
		SampleRateHz int    `json:"sample_rate_hz"`
		Channels     int    `json:"channels"`
	} `json:"raw"`
	RawFile     string  `json:"raw_file"`
	Interleaved []int32 `json:"interleaved"`
	Text        *string `json:"text"`
	Voice       string  `json:"voice"`
	Style       string  `json:"style_instruction"`
	Code        string  `json:"code"`
}

func (m *manifest) path(rel string) string { return filepath.Join(m.dir, filepath.FromSlash(rel)) }

func (m *manifest) read(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(m.path(rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func loadManifest(t *testing.T) *manifest {
	t.Helper()
	dir := os.Getenv("VOXGATE_CONFORMANCE")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "conformance")
	}
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatalf("conformance vectors: %v", err)
	}
	m := &manifest{dir: dir}
	if err := json.Unmarshal(data, m); err != nil {
		t.Fatalf("conformance/manifest.json: %v", err)
	}
	if m.Version != 1 {
		t.Fatalf("conformance/manifest.json: version %d, this test knows version 1", m.Version)
	}
	if len(m.Tokenize) == 0 || len(m.Detokenize) == 0 || len(m.Synthesize) == 0 || len(m.Errors) == 0 || len(m.StreamChunkBytes) == 0 {
		t.Fatalf("conformance/manifest.json has an empty section: %d tokenize, %d detokenize, %d synthesize, %d errors, %d chunk sizes",
			len(m.Tokenize), len(m.Detokenize), len(m.Synthesize), len(m.Errors), len(m.StreamChunkBytes))
	}
	return m
}

func newClient(t *testing.T, opts ...Option) *Client {
	t.Helper()
	c, err := Dial(liveAddr(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func checkTokens(t *testing.T, what string, got *Tokens, want tokenizeCase) {
	t.Helper()
	if !slices.Equal(got.Linguistic, want.Linguistic) {
		t.Errorf("%s: linguistic = %v, want %v", what, got.Linguistic, want.Linguistic)
	}
	if !slices.Equal(got.Semantic, want.Semantic) {
		t.Errorf("%s: semantic = %v, want %v", what, got.Semantic, want.Semantic)
	}
	if !slices.Equal(got.Interleaved, want.Interleaved) {
		t.Errorf("%s: interleaved = %v, want %v", what, got.Interleaved, want.Interleaved)
	}
	if got.Text != want.Text {
		t.Errorf("%s: text = %q, want %q", what, got.Text, want.Text)
	}
	if got.GroupCount != want.GroupCount {
		t.Errorf("%s: group_count = %d, want %d", what, got.GroupCount, want.GroupCount)
	}
}

func TestServerInfo(t *testing.T) {
	c := newClient(t)
	info, err := c.ServerInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	spec := info.GetTokenSpec()
	if got := spec.GetVocabularySize(); got != 5120 {
		t.Errorf("token_spec.vocabulary_size = %d, want 5120", got)
	}
	if got := spec.GetGroupPattern(); got != "llsss" {
		t.Errorf("token_spec.group_pattern = %q, want llsss", got)
	}
	if !slices.Contains(info.GetImplementedServices(), "voxgate.v1.TokenizerService") {
		t.Errorf("implemented_services = %v, want voxgate.v1.TokenizerService among them", info.GetImplementedServices())
	}
	if info.GetRequestId() == "" {
		t.Error("empty request_id")
	}
}

func TestRequestIDEcho(t *testing.T) {
	c := newClient(t)
	ctx := WithRequestID(context.Background(), "go-client-test-42")
	info, err := c.ServerInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.GetRequestId() != "go-client-test-42" {
		t.Errorf("request_id = %q, want the x-request-id sent", info.GetRequestId())
	}
}

func TestTokenize(t *testing.T) {
	m := loadManifest(t)
	c := newClient(t)
	for _, tc := range m.Tokenize {
		t.Run(tc.Name, func(t *testing.T) {
			got, err := c.TokenizeFile(context.Background(), m.path(tc.File))
			if err != nil {
				t.Fatal(err)
			}
			checkTokens(t, "Tokenize", got, tc)
			if got.RequestID == "" {
				t.Error("empty request_id")
			}
		})
	}
}

func TestStreamTokenize(t *testing.T) {
	m := loadManifest(t)
	c := newClient(t)
	for _, tc := range m.Tokenize {
		for _, chunk := range m.StreamChunkBytes {
			t.Run(fmt.Sprintf("%s/chunk%d", tc.Name, chunk), func(t *testing.T) {
				data := m.read(t, tc.File)
				var updates []*StreamUpdate
				got, err := c.StreamTokenize(context.Background(), bytes.NewReader(data), StreamOptions{
					Format:     &pb.StreamAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_WAV},
					ChunkBytes: chunk,
					OnUpdate:   func(u *StreamUpdate) error { updates = append(updates, u); return nil },
				})
				if err != nil {
					t.Fatal(err)
				}
				checkTokens(t, "StreamTokenize", got, tc)
				if len(updates) == 0 || !updates[len(updates)-1].Final {
					t.Fatalf("last of %d messages is not final", len(updates))
				}
				groups := 0
				for i, u := range updates {
					if u.Final && i != len(updates)-1 {
						t.Errorf("message %d of %d is final", i, len(updates))
					}
					if u.Tokens.GroupCount > 0 && u.GroupOffset != groups {
						t.Errorf("message %d: group_offset %d, want %d", i, u.GroupOffset, groups)
					}
					groups += u.Tokens.GroupCount
				}
			})
		}
	}
}

func TestDetokenize(t *testing.T) {
	m := loadManifest(t)
	c := newClient(t)
	for _, tc := range m.Detokenize {
		t.Run(tc.Name, func(t *testing.T) {
			a, err := c.Detokenize(context.Background(), tc.Interleaved, nil)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(a.Data)
			if got := hex.EncodeToString(sum[:]); got != tc.WavSha256 {
				t.Errorf("sha256 of the WAV = %s, want %s", got, tc.WavSha256)
			}
			w, err := parseWAV(a.Data)
			if err != nil {
				t.Fatalf("returned audio: %v", err)
			}
			if w.numSamples != tc.NumSamples {
				t.Errorf("num_samples = %d, want %d", w.numSamples, tc.NumSamples)
			}
			if tc.SampleRateHz != 0 && w.sampleRate != tc.SampleRateHz {
				t.Errorf("WAV sample rate = %d, want %d", w.sampleRate, tc.SampleRateHz)
			}
			if w.bitsPerSample != 16 || w.format != 1 {
				t.Errorf("WAV format %d with %d bits, want PCM S16LE", w.format, w.bitsPerSample)
			}
			if a.GroupCount != tc.GroupCount {
				t.Errorf("group_count = %d, want %d", a.GroupCount, tc.GroupCount)
			}
			if a.Format.GetContainer() != pb.AudioContainer_AUDIO_CONTAINER_WAV ||
				a.Format.GetEncoding() != pb.PcmEncoding_PCM_ENCODING_S16LE {
				t.Errorf("resolved format = %v, want WAV S16LE", a.Format)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	m := loadManifest(t)
	c := newClient(t)
	ctx := context.Background()
	for _, tc := range m.Errors {
		t.Run(tc.Name, func(t *testing.T) {
			var err error
			switch tc.RPC {
			case "Tokenize":
				switch {
				case tc.ContainerFile != "":
					_, err = c.Tokenize(ctx, m.read(t, tc.ContainerFile))
				case tc.Raw != nil:
					_, err = c.TokenizeRaw(ctx, m.read(t, tc.RawFile), rawFormat(t, tc))
				default:
					t.Fatalf("Tokenize case with neither container_file nor raw")
				}
			case "StreamTokenize":
				format := &pb.StreamAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_WAV}
				file := tc.ContainerFile
				if tc.Raw != nil {
					f := rawFormat(t, tc)
					format = &pb.StreamAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_RAW, Raw: f.proto()}
					file = tc.RawFile
				}
				_, err = c.StreamTokenize(ctx, bytes.NewReader(m.read(t, file)), StreamOptions{Format: format})
			case "Synthesize", "StreamSynthesize":
				if tc.Text == nil {
					t.Fatalf("%s case without text", tc.RPC)
				}
				opts := SynthesisOptions{Voice: tc.Voice, StyleInstruction: tc.Style}
				if tc.RPC == "Synthesize" {
					_, err = c.Synthesize(ctx, *tc.Text, opts)
				} else {
					_, err = c.StreamSynthesize(ctx, slices.Values([]string{*tc.Text}), opts)
				}
			case "Detokenize":
				if tc.Text != nil {
					_, err = c.DetokenizeText(ctx, *tc.Text, nil)
				} else {
					_, err = c.Detokenize(ctx, tc.Interleaved, nil)
				}
			default:
				t.Fatalf("unknown rpc %q in the manifest", tc.RPC)
			}
			if err == nil {
				t.Fatalf("%s succeeded, want %s", tc.RPC, tc.Code)
			}
			var ve *Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %T (%v) is not a *voxgate.Error", err, err)
			}
			if ve.CodeName() != tc.Code {
				t.Errorf("code %s (%s), want %s", ve.CodeName(), ve.Message, tc.Code)
			}
			if CodeName(CodeOf(err)) != tc.Code {
				t.Errorf("CodeOf = %s, want %s", CodeName(CodeOf(err)), tc.Code)
			}
		})
	}
}

func rawFormat(t *testing.T, tc errorCase) RawFormat {
	t.Helper()
	enc, ok := pb.PcmEncoding_value[tc.Raw.Encoding]
	if !ok {
		t.Fatalf("unknown encoding %q", tc.Raw.Encoding)
	}
	return RawFormat{Encoding: pb.PcmEncoding(enc), SampleRateHz: tc.Raw.SampleRateHz, Channels: tc.Raw.Channels}
}

func TestDeadlineExceeded(t *testing.T) {
	m := loadManifest(t)
	// The longest recording of the manifest; 1 ms is far less than any tokenization takes.
	var data []byte
	for _, tc := range m.Tokenize {
		if d := m.read(t, tc.File); len(d) > len(data) {
			data = d
		}
	}
	c := newClient(t, WithTimeout(time.Millisecond))
	_, err := c.Tokenize(context.Background(), data)
	if CodeOf(err) != codes.DeadlineExceeded {
		t.Fatalf("Tokenize with a 1 ms deadline: %v, want DEADLINE_EXCEEDED", err)
	}
	var ve *Error
	if !errors.As(err, &ve) || ve.CodeName() != "DEADLINE_EXCEEDED" {
		t.Fatalf("error %v is not a *voxgate.Error with DEADLINE_EXCEEDED", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("errors.Is(err, context.DeadlineExceeded) is false")
	}

	// The deadline on the caller's context wins when it is earlier than the client's.
	c2 := newClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := c2.StreamTokenize(ctx, bytes.NewReader(data), StreamOptions{}); CodeOf(err) != codes.DeadlineExceeded {
		t.Fatalf("StreamTokenize with a 1 ms deadline: %v, want DEADLINE_EXCEEDED", err)
	}
}

type wavInfo struct {
	format, channels, bitsPerSample int
	sampleRate                      int
	numSamples                      int // frames
}

// parseWAV reads the fmt and data chunks of a RIFF/WAVE file.
func parseWAV(b []byte) (*wavInfo, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, errors.New("not a RIFF/WAVE file")
	}
	w := &wavInfo{}
	haveFmt := false
	for p := 12; p+8 <= len(b); {
		id := string(b[p : p+4])
		size := int(binary.LittleEndian.Uint32(b[p+4 : p+8]))
		body := b[p+8:]
		switch id {
		case "fmt ":
			if size < 16 || len(body) < 16 {
				return nil, errors.New("short fmt chunk")
			}
			w.format = int(binary.LittleEndian.Uint16(body[0:2]))
			w.channels = int(binary.LittleEndian.Uint16(body[2:4]))
			w.sampleRate = int(binary.LittleEndian.Uint32(body[4:8]))
			w.bitsPerSample = int(binary.LittleEndian.Uint16(body[14:16]))
			if w.format == 0xFFFE && size >= 26 { // WAVE_FORMAT_EXTENSIBLE: the sub-format
				w.format = int(binary.LittleEndian.Uint16(body[24:26]))
			}
			haveFmt = true
		case "data":
			if !haveFmt || w.channels == 0 || w.bitsPerSample == 0 {
				return nil, errors.New("data chunk before fmt chunk")
			}
			if size > len(body) {
				return nil, fmt.Errorf("data chunk of %d bytes, only %d present", size, len(body))
			}
			w.numSamples = size / (w.channels * w.bitsPerSample / 8)
			return w, nil
		}
		p += 8 + size + size%2
	}
	return nil, errors.New("no data chunk")
}

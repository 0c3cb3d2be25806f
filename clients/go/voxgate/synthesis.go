package voxgate

// SynthesisService: text to speech (Synthesize, StreamSynthesize) and the voice registry
// (CreateVoice, ListVoices, DeleteVoice).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	pb "github.com/voxgate/voxgate/clients/go/gen/voxgate/v1"
)

// Method names of the SynthesisService, as they appear in Error.RPC.
const (
	methodSynthesize       = "/voxgate.v1.SynthesisService/Synthesize"
	methodStreamSynthesize = "/voxgate.v1.SynthesisService/StreamSynthesize"
	methodCreateVoice      = "/voxgate.v1.SynthesisService/CreateVoice"
	methodListVoices       = "/voxgate.v1.SynthesisService/ListVoices"
	methodDeleteVoice      = "/voxgate.v1.SynthesisService/DeleteVoice"
)

// SynthesisOptions configures Synthesize and StreamSynthesize. The zero value speaks with the
// server's default voice and style into a 16-bit WAV file at the model's native rate.
type SynthesisOptions struct {
	// Voice is a built-in voice's name or a registered voice's id ("": the default voice).
	Voice string
	// Prompt, if set, is a recording to clone for this call only; it overrides Voice.
	Prompt *pb.VoicePrompt
	// StyleInstruction is a style in words or Step-Audio prefixes, e.g. "speak slowly",
	// "(高兴1)(慢速1)". What the engine cannot apply is listed in the report's NotApplied.
	StyleInstruction string
	// Style holds typed style fields; they win over StyleInstruction.
	Style *pb.SpeechStyle
	// Format of the audio. Nil: the server's default (WAV S16LE at the native rate). WAV and
	// FLAC arrive whole in the final message; RAW (PCM) and OGG (Opus pages) piece by piece.
	Format *pb.OutputAudioFormat
	// OnPiece, if set, is called for every message as it arrives (the last one has Final set).
	// Returning an error cancels the call and the method returns that error.
	OnPiece func(*pb.SynthesizeResponse) error
}

func (o *SynthesisOptions) request(text string) *pb.SynthesizeRequest {
	return &pb.SynthesizeRequest{
		Text:             text,
		Voice:            o.Voice,
		Prompt:           o.Prompt,
		StyleInstruction: o.StyleInstruction,
		Style:            o.Style,
		OutputFormat:     o.Format,
	}
}

// Speech is the whole answer of a Synthesize or StreamSynthesize call.
type Speech struct {
	// RequestID is the server's request id.
	RequestID string
	// Tokens are the interleaved audio token ids of all pieces, in order ([l l s s s] per group).
	Tokens []int32
	// GroupCount is the number of 120 ms groups (len(Tokens) / 5).
	GroupCount int
	// Report says which voice and style were applied (from the first message).
	Report *pb.SynthesisReport
	// Words are the word timings of all pieces, relative to the start of the audio.
	Words []*pb.WordTiming
	// Audio is the audio data of all messages, concatenated: the whole file for WAV and FLAC
	// (it arrives in the final message), the Ogg/Opus pages for OGG (sent as they fill), the
	// PCM of all pieces for RAW.
	Audio []byte
	// Format is the format of Audio, with every default resolved.
	Format *pb.OutputAudioFormat
	// DurationSeconds is the duration of the audio.
	DurationSeconds float64
	// Messages is the number of messages received, the final one included.
	Messages int
}

func (s *Speech) add(r *pb.SynthesizeResponse) {
	s.Messages++
	if s.RequestID == "" {
		s.RequestID = r.GetRequestId()
	}
	if s.Report == nil && r.GetReport() != nil {
		s.Report = r.GetReport()
	}
	s.Tokens = append(s.Tokens, r.GetAudioTokens()...)
	s.GroupCount = len(s.Tokens) / 5
	s.Words = append(s.Words, r.GetWords()...)
	a := r.GetAudio()
	if a.GetFormat() != nil {
		s.Format = a.GetFormat()
	}
	s.Audio = append(s.Audio, a.GetData()...)
	if r.GetFinal() {
		s.DurationSeconds = r.GetStartSeconds() // where the (empty) end starts: the total
	}
}

func (c *Client) streamCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.streamTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.streamTimeout)
}

// Synthesize speaks text (server streaming). It collects the pieces until the final one, calling
// opts.OnPiece for each as it arrives, and returns them combined. The deadline is the stream
// deadline (WithStreamTimeout).
func (c *Client) Synthesize(ctx context.Context, text string, opts SynthesisOptions) (*Speech, error) {
	return c.SynthesizeRequest(ctx, opts.request(text), opts.OnPiece)
}

// SynthesizeRequest sends any SynthesizeRequest; onPiece (may be nil) is called for every
// message as it arrives.
func (c *Client) SynthesizeRequest(ctx context.Context, req *pb.SynthesizeRequest, onPiece func(*pb.SynthesizeResponse) error) (*Speech, error) {
	ctx, cancel := c.streamCtx(ctx)
	defer cancel()
	stream, err := c.synthesis.Synthesize(ctx, req)
	if err != nil {
		return nil, wrapErr(methodSynthesize, err)
	}
	return receiveSpeech(methodSynthesize, stream.Recv, onPiece, nil)
}

// SynthesizeToFile speaks text into a WAV file at path (the WAV arrives whole in the final
// message). opts.Format may set the encoding and rate; its container is always WAV.
func (c *Client) SynthesizeToFile(ctx context.Context, text, path string, opts SynthesisOptions) (*Speech, error) {
	format := &pb.OutputAudioFormat{}
	if opts.Format != nil {
		format = proto.Clone(opts.Format).(*pb.OutputAudioFormat)
	}
	format.Container = pb.AudioContainer_AUDIO_CONTAINER_WAV
	opts.Format = format
	s, err := c.Synthesize(ctx, text, opts)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, s.Audio, 0o644); err != nil {
		return nil, err
	}
	return s, nil
}

// StreamSynthesize speaks text that arrives piece by piece (for example from an LLM) on one
// bidirectional call: the config (voice, prompt, style, format) first, then each string texts
// yields, then a half-close when texts ends. Audio is generated as soon as each clause is
// complete; opts.OnPiece sees every piece as it arrives. The tokens equal Synthesize's for the
// concatenated text. texts runs on its own goroutine; it may block (e.g. ranging over a channel:
// see TextsFrom).
func (c *Client) StreamSynthesize(ctx context.Context, texts iter.Seq[string], opts SynthesisOptions) (*Speech, error) {
	ctx, cancel := c.streamCtx(ctx)
	defer cancel()
	stream, err := c.synthesis.StreamSynthesize(ctx)
	if err != nil {
		return nil, wrapErr(methodStreamSynthesize, err)
	}
	sendErr := make(chan error, 1)
	go func() {
		err := sendTexts(stream, opts.request(""), texts)
		sendErr <- err
		if err != nil {
			cancel()
		}
	}()
	recv := func() (*pb.SynthesizeResponse, error) {
		r, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		if r.GetPiece() == nil {
			return nil, fmt.Errorf("voxgate: %s: a response without a piece", methodStreamSynthesize)
		}
		return r.GetPiece(), nil
	}
	pending := func() error {
		select {
		case err := <-sendErr:
			return err
		default:
			return nil
		}
	}
	return receiveSpeech(methodStreamSynthesize, recv, opts.OnPiece, pending)
}

// TextsFrom adapts a channel of text pieces for StreamSynthesize: it yields each string until the
// channel is closed.
func TextsFrom(ch <-chan string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for s := range ch {
			if !yield(s) {
				return
			}
		}
	}
}

type synthesizeStream = grpc.BidiStreamingClient[pb.StreamSynthesizeRequest, pb.StreamSynthesizeResponse]

// sendTexts sends the config, the text pieces and the half-close. A send that fails because the
// server ended the stream (io.EOF) is not an error here: Recv reports the real status.
func sendTexts(stream synthesizeStream, config *pb.SynthesizeRequest, texts iter.Seq[string]) error {
	ok := true
	send := func(req *pb.StreamSynthesizeRequest) error {
		if err := stream.Send(req); err != nil {
			ok = false
			if errors.Is(err, io.EOF) {
				return nil
			}
			return wrapErr(methodStreamSynthesize, err)
		}
		return nil
	}
	if err := send(&pb.StreamSynthesizeRequest{Message: &pb.StreamSynthesizeRequest_Config{
		Config: &pb.StreamSynthesizeConfig{Request: config},
	}}); !ok {
		return err
	}
	for text := range texts {
		if text == "" {
			continue
		}
		if err := send(&pb.StreamSynthesizeRequest{Message: &pb.StreamSynthesizeRequest_Text{Text: text}}); !ok {
			return err
		}
	}
	if err := stream.CloseSend(); err != nil {
		return wrapErr(methodStreamSynthesize, err)
	}
	return nil
}

// receiveSpeech reads messages until the final one, then the end of the call.
func receiveSpeech(rpc string, recv func() (*pb.SynthesizeResponse, error), onPiece func(*pb.SynthesizeResponse) error, sendErr func() error) (*Speech, error) {
	pendingSendErr := func() error {
		if sendErr == nil {
			return nil
		}
		return sendErr()
	}
	s := &Speech{}
	for {
		r, err := recv()
		if err != nil {
			if serr := pendingSendErr(); serr != nil {
				return nil, serr
			}
			if err == io.EOF {
				return nil, fmt.Errorf("voxgate: %s: stream ended without a final message", rpc)
			}
			return nil, wrapErr(rpc, err)
		}
		s.add(r)
		if onPiece != nil {
			if err := onPiece(r); err != nil {
				return nil, err
			}
		}
		if r.GetFinal() {
			// Read the end of the call (its status): a server error after the final message
			// still surfaces, and the call ends as OK on both sides.
			if _, err := recv(); err != io.EOF {
				if err == nil {
					return nil, fmt.Errorf("voxgate: %s: a message after the final one", rpc)
				}
				return nil, wrapErr(rpc, err)
			}
			return s, nil
		}
	}
}

// VoiceOptions are the optional fields of CreateVoice.
type VoiceOptions struct {
	// ConsentNote says who consented to cloning the voice, and how.
	ConsentNote string
	// KeepAudio also stores the prompt recording (default: only its tokens and features).
	KeepAudio bool
}

// CreateVoice registers a cloned voice from a prompt recording (container bytes: WAV, FLAC, OGG
// or MP3) and what it says; pass the returned Voice's Id as SynthesisOptions.Voice.
func (c *Client) CreateVoice(ctx context.Context, name string, prompt []byte, transcript string, opts VoiceOptions) (*pb.Voice, error) {
	ctx, cancel := c.unaryCtx(ctx)
	defer cancel()
	resp, err := c.synthesis.CreateVoice(ctx, &pb.CreateVoiceRequest{
		Prompt: &pb.VoicePrompt{
			Audio:      &pb.AudioInput{Source: &pb.AudioInput_Container{Container: prompt}},
			Transcript: transcript,
		},
		Name:        name,
		ConsentNote: opts.ConsentNote,
		KeepAudio:   opts.KeepAudio,
	})
	if err != nil {
		return nil, wrapErr(methodCreateVoice, err)
	}
	return resp.GetVoice(), nil
}

// ListVoices lists the built-in voices, then the registered ones by creation time.
func (c *Client) ListVoices(ctx context.Context) ([]*pb.Voice, error) {
	ctx, cancel := c.unaryCtx(ctx)
	defer cancel()
	resp, err := c.synthesis.ListVoices(ctx, &pb.ListVoicesRequest{})
	if err != nil {
		return nil, wrapErr(methodListVoices, err)
	}
	return resp.GetVoices(), nil
}

// DeleteVoice deletes a registered voice (NOT_FOUND: no such voice; FAILED_PRECONDITION: a
// built-in voice).
func (c *Client) DeleteVoice(ctx context.Context, id string) error {
	ctx, cancel := c.unaryCtx(ctx)
	defer cancel()
	if _, err := c.synthesis.DeleteVoice(ctx, &pb.DeleteVoiceRequest{VoiceId: id}); err != nil {
		return wrapErr(methodDeleteVoice, err)
	}
	return nil
}

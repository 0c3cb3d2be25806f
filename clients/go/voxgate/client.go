// Package voxgate is a thin Go client for voxgate, the gRPC service that turns speech into
// Step-Audio tokens, tokens back into speech, text into speech, and holds spoken conversations
// (package voxgate.v1).
//
// The generated stubs are in github.com/voxgate/voxgate/clients/go/gen/voxgate/v1; this package
// wraps the TokenizerService, SynthesisService, ChatService and DiscoveryService calls, sets a
// deadline on every call and returns failed calls as *Error values carrying the gRPC status code.
//
//	c, err := voxgate.Dial("127.0.0.1:50051")
//	if err != nil { ... }
//	defer c.Close()
//	toks, err := c.TokenizeFile(ctx, "speech.wav")
//	fmt.Println(toks.Interleaved)
package voxgate

import (
	"context"
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	pb "github.com/voxgate/voxgate/clients/go/gen/voxgate/v1"
)

const (
	// DefaultTimeout is the deadline of unary calls (Tokenize, Detokenize, ServerInfo, the voice
	// calls).
	DefaultTimeout = 60 * time.Second
	// DefaultStreamTimeout is the deadline of a whole streaming call (StreamTokenize, Synthesize,
	// StreamSynthesize, a Chat conversation).
	DefaultStreamTimeout = 5 * time.Minute
	// DefaultChunkBytes is the piece size StreamTokenize sends when none is given.
	DefaultChunkBytes = 4096
	// DefaultMaxMessageBytes is the largest message the client sends or accepts.
	DefaultMaxMessageBytes = 64 << 20
)

// Method names, as they appear in Error.RPC.
const (
	methodTokenize       = "/voxgate.v1.TokenizerService/Tokenize"
	methodStreamTokenize = "/voxgate.v1.TokenizerService/StreamTokenize"
	methodDetokenize     = "/voxgate.v1.TokenizerService/Detokenize"
	methodGetServerInfo  = "/voxgate.v1.DiscoveryService/GetServerInfo"
)

// Client talks to one voxgate server over a gRPC connection: plaintext, or TLS with WithTLS
// (mutual TLS with a client certificate), with a bearer token from WithToken. It is safe for
// concurrent use. Close it when done.
type Client struct {
	conn          *grpc.ClientConn
	tokenizer     pb.TokenizerServiceClient
	discovery     pb.DiscoveryServiceClient
	synthesis     pb.SynthesisServiceClient
	chat          pb.ChatServiceClient
	timeout       time.Duration
	streamTimeout time.Duration
}

// serviceConfigJSON is the gRPC service config the server publishes
// (service/voxgate/service_config.json, copied here by generate.sh): retries on UNAVAILABLE for
// the idempotent unary RPCs, wait-for-ready for every RPC.
//
//go:embed service_config.json
var serviceConfigJSON string

// ServiceConfig returns voxgate's published gRPC service config as JSON, with every method's
// waitForReady set to waitForReady. Dial uses it by default (see WithWaitForReady and
// WithServiceConfig).
func ServiceConfig(waitForReady bool) string {
	var cfg map[string]any
	if err := json.Unmarshal([]byte(serviceConfigJSON), &cfg); err != nil {
		panic("voxgate: embedded service_config.json: " + err.Error())
	}
	methods, _ := cfg["methodConfig"].([]any)
	for _, m := range methods {
		if mc, ok := m.(map[string]any); ok {
			mc["waitForReady"] = waitForReady
		}
	}
	out, err := json.Marshal(cfg)
	if err != nil {
		panic("voxgate: service config: " + err.Error())
	}
	return string(out)
}

type options struct {
	timeout       time.Duration
	streamTimeout time.Duration
	maxMsg        int
	waitForReady  bool
	serviceConfig *string
	tls           *TLSOptions
	tlsConfig     *tls.Config
	token         string
	dialOpts      []grpc.DialOption
}

// Option configures Dial.
type Option func(*options)

// WithTimeout sets the deadline of each unary call (default DefaultTimeout). A deadline already
// on the caller's context wins when it is earlier.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithStreamTimeout sets the deadline of a whole streaming call: StreamTokenize, Synthesize,
// StreamSynthesize, a whole Chat conversation (default DefaultStreamTimeout). Zero or less: no
// deadline beyond the caller's context.
func WithStreamTimeout(d time.Duration) Option { return func(o *options) { o.streamTimeout = d } }

// WithMaxMessageBytes sets the largest message sent or received (default 64 MiB). The server has
// its own limit (GetServerInfo: limits.max_request_bytes).
func WithMaxMessageBytes(n int) Option { return func(o *options) { o.maxMsg = n } }

// WithWaitForReady sets whether calls wait for the server (default true, as the published
// service config says): with it, a call made while the server is unreachable (down,
// restarting, draining) waits for a connection until its deadline instead of failing at once
// with UNAVAILABLE. Command-line tools usually want false, to fail fast.
func WithWaitForReady(wait bool) Option { return func(o *options) { o.waitForReady = wait } }

// WithServiceConfig replaces the published service config (ServiceConfig) with cfg, a gRPC
// service config in JSON; "" dials with none (no retries, no wait-for-ready). It overrides
// WithWaitForReady.
func WithServiceConfig(cfg string) Option { return func(o *options) { o.serviceConfig = &cfg } }

// WithDialOptions adds gRPC dial options (interceptors, keepalive, ...).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOpts = append(o.dialOpts, opts...) }
}

// Dial creates a client for the server at addr ("host:port"; a gRPC target such as
// "dns:///host:port" or "unix:///path" works too). It does not block: the connection is made on
// the first call. The connection is plaintext unless WithTLS (or WithTLSConfig) is given; a
// refused TLS handshake (e.g. no client certificate for a server that requires one, or
// plaintext to a TLS port) fails calls with UNAVAILABLE (with wait-for-ready: DEADLINE_EXCEEDED
// at their deadline), a refused token with UNAUTHENTICATED or PERMISSION_DENIED (*Error).
//
// The connection uses voxgate's published service config (ServiceConfig): the idempotent unary
// calls (Tokenize, Detokenize, ServerInfo, ListVoices) are retried on UNAVAILABLE (4 attempts,
// 0.2-2 s backoff; requests up to grpc-go's 256 KiB retry buffer), and every call waits for the
// server to be reachable, within its deadline (WithWaitForReady(false) to fail fast).
func Dial(addr string, opts ...Option) (*Client, error) {
	o := options{
		timeout:       DefaultTimeout,
		streamTimeout: DefaultStreamTimeout,
		maxMsg:        DefaultMaxMessageBytes,
		waitForReady:  true,
	}
	for _, opt := range opts {
		opt(&o)
	}
	creds, err := o.transportCredentials()
	if err != nil {
		return nil, err
	}
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(o.maxMsg),
			grpc.MaxCallSendMsgSize(o.maxMsg),
		),
	}
	switch {
	case o.serviceConfig == nil:
		dialOpts = append(dialOpts, grpc.WithDefaultServiceConfig(ServiceConfig(o.waitForReady)))
	case *o.serviceConfig != "":
		dialOpts = append(dialOpts, grpc.WithDefaultServiceConfig(*o.serviceConfig))
	}
	if o.token != "" {
		if err := checkToken(o.token); err != nil {
			return nil, err
		}
		dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(BearerToken(o.token)))
	}
	dialOpts = append(dialOpts, o.dialOpts...)
	target := addr
	if !strings.Contains(target, ":///") {
		// A plain host:port is dialled as is, without a DNS resolver in between.
		target = "passthrough:///" + target
	}
	conn, err := grpc.NewClient(target, dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("voxgate: dial %s: %w", addr, err)
	}
	return &Client{
		conn:          conn,
		tokenizer:     pb.NewTokenizerServiceClient(conn),
		discovery:     pb.NewDiscoveryServiceClient(conn),
		synthesis:     pb.NewSynthesisServiceClient(conn),
		chat:          pb.NewChatServiceClient(conn),
		timeout:       o.timeout,
		streamTimeout: o.streamTimeout,
	}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Conn is the underlying connection, for calling other services (health, reflection, the
// generated stubs directly).
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// WithRequestID returns a context that sends id as the "x-request-id" metadata; the server echoes
// it as the request_id of its responses.
func WithRequestID(ctx context.Context, id string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-request-id", id)
}

// Tokens are the Step-Audio tokens of a recording.
type Tokens struct {
	// Linguistic codes in [0, 1024), 2 per group.
	Linguistic []int32
	// Semantic codes in [0, 4096), 3 per group.
	Semantic []int32
	// Interleaved ids N in [0, 5120), [l, l, s, s, s] per group.
	Interleaved []int32
	// Text is the "<audio_N>..." form (always requested by this client).
	Text string
	// GroupCount is the number of 120 ms groups.
	GroupCount int
	// RequestID is the server's request id.
	RequestID string
	// DurationSeconds is the duration of the decoded input (Tokenize only; 0 for streams).
	DurationSeconds float64
}

func (t *Tokens) add(a *pb.AudioTokens) {
	if a == nil {
		return
	}
	t.Linguistic = append(t.Linguistic, a.GetLinguistic()...)
	t.Semantic = append(t.Semantic, a.GetSemantic()...)
	t.Interleaved = append(t.Interleaved, a.GetInterleaved()...)
	t.Text += a.GetText()
	t.GroupCount += int(a.GetGroupCount())
}

// RawFormat describes headerless PCM.
type RawFormat struct {
	Encoding     pb.PcmEncoding
	SampleRateHz int
	Channels     int
}

func (f RawFormat) proto() *pb.RawAudioFormat {
	return &pb.RawAudioFormat{
		Encoding:     f.Encoding,
		SampleRateHz: int32(f.SampleRateHz),
		Channels:     int32(f.Channels),
	}
}

func (c *Client) unaryCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.timeout)
}

// ServerInfo calls DiscoveryService.GetServerInfo: models, token format, limits, voices.
func (c *Client) ServerInfo(ctx context.Context) (*pb.GetServerInfoResponse, error) {
	ctx, cancel := c.unaryCtx(ctx)
	defer cancel()
	resp, err := c.discovery.GetServerInfo(ctx, &pb.GetServerInfoRequest{})
	if err != nil {
		return nil, wrapErr(methodGetServerInfo, err)
	}
	return resp, nil
}

// Tokenize tokenizes a whole recording given as container bytes (WAV, FLAC, OGG or MP3; the
// server detects which).
func (c *Client) Tokenize(ctx context.Context, container []byte) (*Tokens, error) {
	return c.TokenizeAudio(ctx, &pb.AudioInput{Source: &pb.AudioInput_Container{Container: container}})
}

// TokenizeFile reads an audio file and tokenizes it.
func (c *Client) TokenizeFile(ctx context.Context, path string) (*Tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return c.Tokenize(ctx, data)
}

// TokenizeRaw tokenizes headerless PCM laid out as format.
func (c *Client) TokenizeRaw(ctx context.Context, pcm []byte, format RawFormat) (*Tokens, error) {
	return c.TokenizeAudio(ctx, &pb.AudioInput{Source: &pb.AudioInput_Raw{
		Raw: &pb.RawAudio{Format: format.proto(), Data: pcm},
	}})
}

// TokenizeAudio tokenizes any AudioInput.
func (c *Client) TokenizeAudio(ctx context.Context, audio *pb.AudioInput) (*Tokens, error) {
	ctx, cancel := c.unaryCtx(ctx)
	defer cancel()
	resp, err := c.tokenizer.Tokenize(ctx, &pb.TokenizeRequest{Audio: audio, IncludeText: true})
	if err != nil {
		return nil, wrapErr(methodTokenize, err)
	}
	t := &Tokens{RequestID: resp.GetRequestId(), DurationSeconds: resp.GetAudioDurationSeconds()}
	t.add(resp.GetTokens())
	return t, nil
}

// Audio is decoded speech.
type Audio struct {
	// Data is the encoded audio: a whole file for containers, or PCM for RAW.
	Data []byte
	// Format is the format of Data, with every default resolved.
	Format *pb.OutputAudioFormat
	// DurationSeconds is the duration of the audio.
	DurationSeconds float64
	// GroupCount is the number of 120 ms groups decoded.
	GroupCount int
	// RequestID is the server's request id.
	RequestID string
}

// Detokenize turns interleaved ids back into audio. format may be nil: 16-bit WAV at the model's
// native rate.
func (c *Client) Detokenize(ctx context.Context, interleaved []int32, format *pb.OutputAudioFormat) (*Audio, error) {
	return c.DetokenizeRequest(ctx, &pb.DetokenizeRequest{
		Tokens:       &pb.DetokenizeRequest_Interleaved{Interleaved: &pb.InterleavedTokens{Ids: interleaved}},
		OutputFormat: format,
	})
}

// DetokenizeText turns the "<audio_N>..." text form back into audio.
func (c *Client) DetokenizeText(ctx context.Context, text string, format *pb.OutputAudioFormat) (*Audio, error) {
	return c.DetokenizeRequest(ctx, &pb.DetokenizeRequest{
		Tokens:       &pb.DetokenizeRequest_Text{Text: text},
		OutputFormat: format,
	})
}

// DetokenizeToFile decodes interleaved ids to a WAV file (16-bit, native rate) at path.
func (c *Client) DetokenizeToFile(ctx context.Context, interleaved []int32, path string) (*Audio, error) {
	a, err := c.Detokenize(ctx, interleaved, nil)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, a.Data, 0o644); err != nil {
		return nil, err
	}
	return a, nil
}

// DetokenizeRequest sends a raw DetokenizeRequest (any token form and output format).
func (c *Client) DetokenizeRequest(ctx context.Context, req *pb.DetokenizeRequest) (*Audio, error) {
	ctx, cancel := c.unaryCtx(ctx)
	defer cancel()
	resp, err := c.tokenizer.Detokenize(ctx, req)
	if err != nil {
		return nil, wrapErr(methodDetokenize, err)
	}
	return &Audio{
		Data:            resp.GetAudio().GetData(),
		Format:          resp.GetAudio().GetFormat(),
		DurationSeconds: resp.GetAudio().GetDurationSeconds(),
		GroupCount:      int(resp.GetGroupCount()),
		RequestID:       resp.GetRequestId(),
	}, nil
}

// StreamUpdate is one message of a StreamTokenize answer: the tokens of newly completed groups.
type StreamUpdate struct {
	// Tokens of the new groups (may be empty on the final message).
	Tokens Tokens
	// GroupOffset is the index of the first group in Tokens since the stream began.
	GroupOffset int
	// Final is true on the last message.
	Final bool
}

// StreamOptions configures StreamTokenize.
type StreamOptions struct {
	// Format of the pieces. Nil: a WAV file cut anywhere (AUDIO_CONTAINER_WAV).
	Format *pb.StreamAudioFormat
	// ChunkBytes is the size of each piece sent (default DefaultChunkBytes).
	ChunkBytes int
	// Interval, if set, is a pause between pieces, to pace the audio like a live source.
	Interval time.Duration
	// OnUpdate, if set, is called for every response as it arrives. Returning an error cancels
	// the stream and StreamTokenize returns that error.
	OnUpdate func(*StreamUpdate) error
}

// StreamTokenize sends the audio read from r as live audio in pieces on one StreamTokenize call:
// the config first, then the pieces, then it half-closes. It collects the per-group answers until
// the one marked final and returns their concatenated tokens (equal to what Tokenize returns for
// the same audio).
func (c *Client) StreamTokenize(ctx context.Context, r io.Reader, opts StreamOptions) (*Tokens, error) {
	format := opts.Format
	if format == nil {
		format = &pb.StreamAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_WAV}
	}
	chunk := opts.ChunkBytes
	if chunk <= 0 {
		chunk = DefaultChunkBytes
	}
	var cancel context.CancelFunc
	if c.streamTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.streamTimeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()

	stream, err := c.tokenizer.StreamTokenize(ctx)
	if err != nil {
		return nil, wrapErr(methodStreamTokenize, err)
	}

	// Send in the background so that answers are read while audio still goes out. A failure on
	// the sending side (reading r, or a send the server did not end) is stored before the call is
	// cancelled, so that it is what StreamTokenize returns.
	sendErr := make(chan error, 1)
	go func() {
		err := sendPieces(ctx, stream, r, format, chunk, opts.Interval)
		sendErr <- err
		if err != nil {
			cancel()
		}
	}()
	pendingSendErr := func() error {
		select {
		case err := <-sendErr:
			return err
		default:
			return nil
		}
	}

	total := &Tokens{}
	for {
		resp, err := stream.Recv()
		if err != nil {
			if serr := pendingSendErr(); serr != nil {
				return nil, serr
			}
			if err == io.EOF {
				return nil, fmt.Errorf("voxgate: %s: stream ended without a final message", methodStreamTokenize)
			}
			return nil, wrapErr(methodStreamTokenize, err)
		}
		if total.RequestID == "" {
			total.RequestID = resp.GetRequestId()
		}
		total.add(resp.GetTokens())
		if opts.OnUpdate != nil {
			u := &StreamUpdate{GroupOffset: int(resp.GetGroupOffset()), Final: resp.GetFinal()}
			u.Tokens.RequestID = resp.GetRequestId()
			u.Tokens.add(resp.GetTokens())
			if err := opts.OnUpdate(u); err != nil {
				return nil, err
			}
		}
		if resp.GetFinal() {
			// Read the end of the call (its status) rather than cancel it: a server error after
			// the final message still surfaces, and the call ends as OK on both sides.
			for {
				extra, err := stream.Recv()
				if err == io.EOF {
					return total, nil
				}
				if err != nil {
					return nil, wrapErr(methodStreamTokenize, err)
				}
				return nil, fmt.Errorf("voxgate: %s: message after the final one (group_offset %d)",
					methodStreamTokenize, extra.GetGroupOffset())
			}
		}
	}
}

// StreamTokenizeFile streams a WAV file in pieces of chunkBytes (0: DefaultChunkBytes).
func (c *Client) StreamTokenizeFile(ctx context.Context, path string, chunkBytes int) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return c.StreamTokenize(ctx, f, StreamOptions{ChunkBytes: chunkBytes})
}

type tokenizeStream = grpc.BidiStreamingClient[pb.StreamTokenizeRequest, pb.StreamTokenizeResponse]

// sendPieces sends the config, the audio pieces and the half-close. A send that fails because the
// server ended the stream (io.EOF) is not an error here: Recv reports the real status.
func sendPieces(ctx context.Context, stream tokenizeStream, r io.Reader, format *pb.StreamAudioFormat, chunk int, interval time.Duration) error {
	send := func(req *pb.StreamTokenizeRequest) (bool, error) {
		if err := stream.Send(req); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, wrapErr(methodStreamTokenize, err)
		}
		return true, nil
	}
	ok, err := send(&pb.StreamTokenizeRequest{Message: &pb.StreamTokenizeRequest_Config{
		Config: &pb.StreamTokenizeConfig{Format: format, IncludeText: true},
	}})
	if !ok {
		return err
	}
	buf := make([]byte, chunk)
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			piece := make([]byte, n)
			copy(piece, buf[:n])
			ok, err := send(&pb.StreamTokenizeRequest{Message: &pb.StreamTokenizeRequest_Audio{Audio: piece}})
			if !ok {
				return err
			}
			if interval > 0 {
				select {
				case <-time.After(interval):
				case <-ctx.Done():
					return nil
				}
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("voxgate: reading audio: %w", rerr)
		}
	}
	if err := stream.CloseSend(); err != nil {
		return wrapErr(methodStreamTokenize, err)
	}
	return nil
}

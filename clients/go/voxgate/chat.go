package voxgate

// ChatService: a multi-turn spoken conversation on one bidirectional stream. ChatSession wraps
// the stream: send methods for user input and controls, Recv / Events for the server's messages,
// and Turn, which sends one whole user turn and collects the reply.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
	"time"

	"google.golang.org/grpc"

	pb "github.com/voxgate/voxgate/clients/go/gen/voxgate/v1"
)

// methodChat is the Chat method name, as it appears in Error.RPC.
const methodChat = "/voxgate.v1.ChatService/Chat"

// DefaultChatChunkBytes is the piece size Turn sends audio in when none is given.
const DefaultChatChunkBytes = 32 << 10

// ErrChatEnded is returned by the send methods of a ChatSession whose call has already ended
// without an error status being known yet (Recv returns the status). errors.Is(err, io.EOF) is
// true for it.
var ErrChatEnded = fmt.Errorf("voxgate: %s: the conversation has ended (Recv returns its status): %w", methodChat, io.EOF)

// ChatOptions is the configuration of a conversation, sent as its first message. The zero value
// is a text and speech conversation with the server's default model prompt, voice, reply format
// (WAV, whole in each reply's last audio message) and reply length; it cannot take audio input.
type ChatOptions struct {
	// SystemPrompt is the assistant's system prompt ("": the model's default).
	SystemPrompt string
	// Voice of the spoken reply, by name ("": the default voice).
	Voice string
	// InputFormat is the format of user audio. Required to send audio: e.g.
	// &pb.StreamAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_WAV} for a WAV file cut
	// anywhere, or RAW with a RawAudioFormat for live PCM.
	InputFormat *pb.StreamAudioFormat
	// OutputFormat of the spoken reply (nil: WAV S16LE at the native rate). RAW and OGG arrive
	// piece by piece; WAV and FLAC whole in the reply's last audio message.
	OutputFormat *pb.OutputAudioFormat
	// TextOnly: replies in text only, no audio.
	TextOnly bool
	// TurnDetection decides how a spoken turn ends (nil: the server's voice activity detection).
	// &pb.TurnDetection{Mode: pb.TurnDetectionMode_TURN_DETECTION_MODE_MANUAL}: only EndTurn does.
	TurnDetection *pb.TurnDetection
	// MaxReplyTokens bounds each reply, 1..1024 (0: the server's default).
	MaxReplyTokens int
	// Temperature of the reply sampling, 0 (greedy) ..2 (nil: the model's default). Use
	// proto.Float32(0) for greedy replies.
	Temperature *float32
	// Seed of the reply sampling, for reproducible replies (nil: random).
	Seed *uint32
}

// Config is the ChatConfig message these options stand for.
func (o *ChatOptions) Config() *pb.ChatConfig {
	return &pb.ChatConfig{
		SystemPrompt:   o.SystemPrompt,
		Voice:          o.Voice,
		InputFormat:    o.InputFormat,
		OutputFormat:   o.OutputFormat,
		TextOnly:       o.TextOnly,
		TurnDetection:  o.TurnDetection,
		MaxReplyTokens: int32(o.MaxReplyTokens),
		Temperature:    o.Temperature,
		Seed:           o.Seed,
	}
}

type chatStream = grpc.BidiStreamingClient[pb.ChatRequest, pb.ChatResponse]

// ChatSession is one conversation: a ChatService.Chat call. The send methods may be called from
// any goroutine (they are serialized), also while another goroutine receives; receiving (Recv,
// Events, Turn, ReceiveReply) must happen on one goroutine at a time.
//
// The conversation ends when the client half-closes (CloseSend: the server finishes the reply in
// progress, then Recv returns io.EOF), on an error status (Recv returns it as an *Error), at the
// deadline, or on Close, which cancels the call. Always Close a session (it is a no-op after the
// end).
type ChatSession struct {
	stream chatStream
	cancel context.CancelFunc

	sendMu     sync.Mutex
	halfClosed bool

	endMu  sync.Mutex
	ended  error // io.EOF or the *Error the call ended with, once Recv has seen it
	closed bool
}

// Chat opens a conversation with opts as its config. The deadline of the whole conversation is
// the stream deadline (WithStreamTimeout); an earlier deadline on ctx wins, and cancelling ctx
// ends the conversation.
func (c *Client) Chat(ctx context.Context, opts ChatOptions) (*ChatSession, error) {
	return c.ChatWithConfig(ctx, opts.Config())
}

// ChatWithConfig opens a conversation with any ChatConfig (see Chat).
func (c *Client) ChatWithConfig(ctx context.Context, config *pb.ChatConfig) (*ChatSession, error) {
	ctx, cancel := c.streamCtx(ctx)
	stream, err := c.chat.Chat(ctx)
	if err != nil {
		cancel()
		return nil, wrapErr(methodChat, err)
	}
	s := &ChatSession{stream: stream, cancel: cancel}
	if err := s.Send(&pb.ChatRequest{Message: &pb.ChatRequest_Config{Config: config}}); err != nil && !errors.Is(err, ErrChatEnded) {
		cancel()
		return nil, err
	}
	// (A config the server refused ends the call: Recv returns the status.)
	return s, nil
}

// Send sends any ChatRequest. The other send methods are shorthands for it.
func (s *ChatSession) Send(req *pb.ChatRequest) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.halfClosed {
		return fmt.Errorf("voxgate: %s: send after CloseSend", methodChat)
	}
	if err := s.stream.Send(req); err != nil {
		if errors.Is(err, io.EOF) {
			// The call has ended; its status is what Recv returns.
			if end := s.endErr(); end != nil && end != io.EOF {
				return end
			}
			return ErrChatEnded
		}
		return wrapErr(methodChat, err)
	}
	return nil
}

// SendInput sends a piece of a user turn (text or audio, and/or the end of the turn).
func (s *ChatSession) SendInput(in *pb.UserInput) error {
	return s.Send(&pb.ChatRequest{Message: &pb.ChatRequest_Input{Input: in}})
}

// SendText sends a piece of typed text of the current user turn (EndTurn ends the turn).
func (s *ChatSession) SendText(text string) error {
	return s.SendInput(&pb.UserInput{Content: &pb.UserInput_Text{Text: text}})
}

// SendAudio sends a piece of the user's speech in the configured input format (ChatOptions.
// InputFormat; without one the server ends the call with INVALID_ARGUMENT).
func (s *ChatSession) SendAudio(piece []byte) error {
	return s.SendInput(&pb.UserInput{Content: &pb.UserInput_Audio{Audio: piece}})
}

// EndTurn ends the user turn: the assistant replies. It ends every text turn, and spoken turns
// in MANUAL turn detection (with SERVER_VAD it ends a turn the server has not ended yet).
func (s *ChatSession) EndTurn() error {
	return s.SendInput(&pb.UserInput{EndOfTurn: true})
}

// SendTextTurn sends a whole typed user turn: the text and the end of the turn, in one message.
func (s *ChatSession) SendTextTurn(text string) error {
	return s.SendInput(&pb.UserInput{Content: &pb.UserInput_Text{Text: text}, EndOfTurn: true})
}

// Interrupt stops the reply in progress (barge-in by the client); its TurnEnd says interrupted.
// No effect when no reply is in progress.
func (s *ChatSession) Interrupt() error {
	return s.Send(&pb.ChatRequest{Message: &pb.ChatRequest_Interrupt{Interrupt: &pb.Interrupt{}}})
}

// AckPlayback tells the server how much of reply turnIndex's audio the user has heard, from its
// start; after an interruption the history keeps only the words heard.
func (s *ChatSession) AckPlayback(turnIndex int, played time.Duration) error {
	return s.Send(&pb.ChatRequest{Message: &pb.ChatRequest_Playback{Playback: &pb.Playback{
		TurnIndex: int32(turnIndex),
		PlayedMs:  played.Milliseconds(),
	}}})
}

// CloseSend ends the client's side of the conversation: the server finishes the reply in
// progress, then ends the call (Recv returns the remaining messages, then io.EOF). Calling it
// again is a no-op.
func (s *ChatSession) CloseSend() error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.halfClosed {
		return nil
	}
	s.halfClosed = true
	if err := s.stream.CloseSend(); err != nil {
		return wrapErr(methodChat, err)
	}
	return nil
}

// Close cancels the call if it is still running (the server sees CANCELLED) and releases its
// resources. Safe to call more than once and after the end.
func (s *ChatSession) Close() {
	s.endMu.Lock()
	s.closed = true
	s.endMu.Unlock()
	s.cancel()
}

// Recv waits for the next message of the server. At the end of the conversation it returns
// io.EOF (the call ended OK), or an *Error with the status the call ended with.
func (s *ChatSession) Recv() (*pb.ChatResponse, error) {
	r, err := s.stream.Recv()
	if err == nil {
		return r, nil
	}
	if err != io.EOF {
		err = wrapErr(methodChat, err)
	}
	s.endMu.Lock()
	if s.ended == nil {
		s.ended = err
	}
	s.endMu.Unlock()
	s.cancel() // the call is over; release its context
	return nil, err
}

func (s *ChatSession) endErr() error {
	s.endMu.Lock()
	defer s.endMu.Unlock()
	return s.ended
}

// Err is the status the conversation ended with, once Recv has seen the end: nil while it runs
// or when it ended OK, else the *Error.
func (s *ChatSession) Err() error {
	if err := s.endErr(); err != io.EOF {
		return err
	}
	return nil
}

// Events yields the server's messages as Recv returns them, until the end of the conversation:
// it ends after the last message when the call ended OK, and yields (nil, err) once when it
// failed. Breaking out of the loop leaves the session open (e.g. to send the next turn).
func (s *ChatSession) Events() iter.Seq2[*pb.ChatResponse, error] {
	return func(yield func(*pb.ChatResponse, error) bool) {
		for {
			r, err := s.Recv()
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}

// Reply is one assistant reply, collected by Turn or ReceiveReply: the messages up to and
// including the reply's TurnEnd.
type Reply struct {
	// RequestID is the server's request id.
	RequestID string
	// TurnIndex is the reply's turn index (from 0).
	TurnIndex int
	// Text is the concatenated text deltas (equal to End.Text).
	Text string
	// Audio is the audio data of all audio messages, concatenated: the whole file for WAV and
	// FLAC (it arrives in the reply's last audio message), the Ogg/Opus pages for OGG, the PCM of
	// all pieces for RAW. Empty in text-only mode.
	Audio []byte
	// Format is the format of Audio, with every default resolved (nil without audio).
	Format *pb.OutputAudioFormat
	// AudioTokens are the interleaved audio token ids of all audio pieces, in order.
	AudioTokens []int32
	// Words are the word timings of all audio pieces, from the reply's start.
	Words []*pb.WordTiming
	// Transcript is the final transcript of the user's spoken turn ("" for typed turns).
	Transcript string
	// End is the reply's TurnEnd: its full text, what the user said, whether it was interrupted,
	// the heard text, latency, token count and audio seconds.
	End *pb.TurnEnd
	// Messages is the number of messages received for the reply, the TurnEnd included.
	Messages int
	// AudioMessages is the number of audio messages among them.
	AudioMessages int
}

// Add takes one message of the reply into account. It reports whether the message was the
// reply's TurnEnd.
func (r *Reply) Add(m *pb.ChatResponse) bool {
	r.Messages++
	if r.RequestID == "" {
		r.RequestID = m.GetRequestId()
	}
	r.TurnIndex = int(m.GetTurnIndex())
	switch msg := m.GetMessage().(type) {
	case *pb.ChatResponse_TextDelta:
		r.Text += msg.TextDelta
	case *pb.ChatResponse_Audio:
		r.AudioMessages++
		if msg.Audio.GetFormat() != nil {
			r.Format = msg.Audio.GetFormat()
		}
		r.Audio = append(r.Audio, msg.Audio.GetData()...)
		r.AudioTokens = append(r.AudioTokens, m.GetAudioTokens()...)
		r.Words = append(r.Words, m.GetWords()...)
	case *pb.ChatResponse_Transcript:
		if msg.Transcript.GetIsFinal() {
			r.Transcript = msg.Transcript.GetText()
		}
	case *pb.ChatResponse_TurnEnd:
		r.End = msg.TurnEnd
		return true
	}
	return false
}

// TurnInput is one user turn for Turn: typed text, speech, or both (the text is sent first).
type TurnInput struct {
	// Text typed by the user.
	Text string
	// Audio is the user's speech in the configured input format (e.g. a WAV file), read and sent
	// in pieces of ChunkBytes.
	Audio io.Reader
	// ChunkBytes is the size of each audio piece (default DefaultChatChunkBytes).
	ChunkBytes int
	// OnEvent, if set, is called for every message of the reply as it arrives (the TurnEnd
	// last). Returning an error ends the conversation (Close) and Turn returns that error.
	OnEvent func(*pb.ChatResponse) error
}

// Turn sends one whole user turn, ends it, and collects the reply up to its TurnEnd. Audio is
// sent while the server's messages (speech started/stopped, transcripts) are read. It is meant
// for text turns and for MANUAL turn detection: with SERVER_VAD the server may end the turn (and
// reply) before all the audio is sent. A failure to read in.Audio ends the conversation (Close)
// and is returned. Turn receives, so it must not run alongside Recv or Events.
func (s *ChatSession) Turn(in TurnInput) (*Reply, error) {
	if in.Text == "" && in.Audio == nil {
		return nil, errors.New("voxgate: Turn needs Text or Audio")
	}
	chunk := in.ChunkBytes
	if chunk <= 0 {
		chunk = DefaultChatChunkBytes
	}
	// The sender's result: nil, or an error that is not the call's status (Recv reports that),
	// e.g. reading the audio failed; then the call is cancelled, so that the receive loop stops,
	// and Turn returns the sender's error. It is stored before the cancel.
	sendErr := make(chan error, 1)
	go func() {
		err := s.sendTurn(in, chunk)
		if err != nil && !errors.Is(err, ErrChatEnded) {
			sendErr <- err
			s.Close()
			return
		}
		sendErr <- nil
	}()
	var sent error
	sendDone := false
	pending := func() error {
		if !sendDone {
			select {
			case sent = <-sendErr:
				sendDone = true
			default:
			}
		}
		return sent
	}
	reply, err := s.receiveReply(in.OnEvent, pending)
	if err != nil {
		return nil, err
	}
	if !sendDone {
		sent = <-sendErr
	}
	if sent != nil {
		return nil, sent
	}
	return reply, nil
}

func (s *ChatSession) sendTurn(in TurnInput, chunk int) error {
	if in.Audio == nil {
		return s.SendTextTurn(in.Text)
	}
	if in.Text != "" {
		if err := s.SendText(in.Text); err != nil {
			return err
		}
	}
	buf := make([]byte, chunk)
	for {
		n, rerr := io.ReadFull(in.Audio, buf)
		if n > 0 {
			piece := make([]byte, n)
			copy(piece, buf[:n])
			if err := s.SendAudio(piece); err != nil {
				return err
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("voxgate: reading audio: %w", rerr)
		}
	}
	return s.EndTurn()
}

// ReceiveReply collects the server's messages up to the next TurnEnd, e.g. after speech that
// the server's turn detection ended. onEvent (may be nil) sees each message as it arrives; an
// error from it ends the conversation (Close) and is returned. If the conversation ends before
// a TurnEnd, it returns the call's error, or an error saying so when the call ended OK.
func (s *ChatSession) ReceiveReply(onEvent func(*pb.ChatResponse) error) (*Reply, error) {
	return s.receiveReply(onEvent, nil)
}

func (s *ChatSession) receiveReply(onEvent func(*pb.ChatResponse) error, pendingSendErr func() error) (*Reply, error) {
	reply := &Reply{}
	for {
		m, err := s.Recv()
		if err != nil {
			if pendingSendErr != nil {
				if serr := pendingSendErr(); serr != nil {
					return nil, serr
				}
			}
			if err == io.EOF {
				return nil, fmt.Errorf("voxgate: %s: the conversation ended before the reply's TurnEnd", methodChat)
			}
			return nil, err
		}
		end := reply.Add(m)
		if onEvent != nil {
			if err := onEvent(m); err != nil {
				s.Close()
				return nil, err
			}
		}
		if end {
			return reply, nil
		}
	}
}

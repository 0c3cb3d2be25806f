// Command voxgate-chat holds one turn of a spoken conversation with a voxgate server: it sends a
// WAV file as the user's spoken turn (or typed text), prints what the server heard and the
// assistant's reply, and saves the spoken reply as a WAV file.
//
//	voxgate-chat -audio question.wav -out reply.wav
//	voxgate-chat -text "Hello, who are you?" -out reply.wav
//	voxgate-chat -text "Hello" -max-tokens 24 -temperature 0     # no -out: the reply in text only
//
// The WAV is sent in pieces (-chunk bytes) as container WAV with MANUAL turn detection, then the
// end of the turn. The reply is asked for as WAV, which arrives whole in the reply's last audio
// message. The server address comes from -addr, else $VOXGATE_ADDR, else 127.0.0.1:50051.
// TLS: -tls (the system's CAs), -tls-ca CA.pem, -tls-cert/-tls-key for mutual TLS, or
// $VOXGATE_TLS=1, $VOXGATE_TLS_CA, $VOXGATE_TLS_CERT, $VOXGATE_TLS_KEY; a bearer token:
// -token-file FILE or $VOXGATE_TOKEN (use it with TLS).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/voxgate/voxgate/clients/go/gen/voxgate/v1"
	"github.com/voxgate/voxgate/clients/go/internal/cliconn"
	"github.com/voxgate/voxgate/clients/go/voxgate"
)

func main() {
	if err := run(); err != nil {
		var ve *voxgate.Error
		if errors.As(err, &ve) {
			fmt.Fprintf(os.Stderr, "voxgate-chat: %s: %s\n", ve.CodeName(), ve.Message)
		} else {
			fmt.Fprintf(os.Stderr, "voxgate-chat: %v\n", err)
		}
		os.Exit(1)
	}
}

func run() error {
	defAddr := os.Getenv("VOXGATE_ADDR")
	if defAddr == "" {
		defAddr = "127.0.0.1:50051"
	}
	addr := flag.String("addr", defAddr, "voxgate server host:port")
	conn := cliconn.Register(flag.CommandLine)
	timeout := flag.Duration("timeout", 2*time.Minute, "deadline of the conversation")
	audio := flag.String("audio", "", "WAV file to send as the user's spoken turn")
	text := flag.String("text", "", "text to send as the user's turn (with -audio: typed text sent first)")
	out := flag.String("out", "", "WAV file to write the spoken reply to (none: reply in text only)")
	system := flag.String("system", "", "system prompt (default: the model's)")
	voice := flag.String("voice", "", "voice of the reply (default: the server's)")
	maxTokens := flag.Int("max-tokens", 0, "most tokens in the reply (0: the server's default)")
	temperature := flag.Float64("temperature", -1, "sampling temperature, 0 = greedy (<0: the model's default)")
	chunk := flag.Int("chunk", voxgate.DefaultChatChunkBytes, "size of the audio pieces sent, in bytes")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(),
			"usage: voxgate-chat [flags] -audio QUESTION.wav [-out REPLY.wav]\n"+
				"       voxgate-chat [flags] -text TEXT [-out REPLY.wav]\n\nflags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 || (*audio == "" && *text == "") {
		flag.Usage()
		os.Exit(2)
	}

	opts := voxgate.ChatOptions{
		SystemPrompt:   *system,
		Voice:          *voice,
		TextOnly:       *out == "",
		MaxReplyTokens: *maxTokens,
		OutputFormat:   &pb.OutputAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_WAV},
		TurnDetection:  &pb.TurnDetection{Mode: pb.TurnDetectionMode_TURN_DETECTION_MODE_MANUAL},
	}
	if *temperature >= 0 {
		opts.Temperature = proto.Float32(float32(*temperature))
	}
	turn := voxgate.TurnInput{Text: *text, ChunkBytes: *chunk}
	if *audio != "" {
		f, err := os.Open(*audio)
		if err != nil {
			return err
		}
		defer f.Close()
		turn.Audio = f
		opts.InputFormat = &pb.StreamAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_WAV}
	}

	connOpts, err := conn.Options()
	if err != nil {
		return err
	}
	client, err := voxgate.Dial(*addr, append(connOpts, voxgate.WithStreamTimeout(*timeout),
		voxgate.WithWaitForReady(false))...) // a command line fails at once when the server is down
	if err != nil {
		return err
	}
	defer client.Close()
	session, err := client.Chat(context.Background(), opts)
	if err != nil {
		return err
	}
	defer session.Close()

	start := time.Now()
	reply, err := session.Turn(turn)
	if err != nil {
		return err
	}
	// End the conversation cleanly: half-close, then read the end of the call.
	if err := session.CloseSend(); err != nil {
		return err
	}
	for _, err := range session.Events() {
		if err != nil {
			return err
		}
	}

	end := reply.End
	fmt.Printf("user: %s\n", end.GetUserTranscript())
	fmt.Printf("assistant: %s\n", end.GetText())
	if *out != "" {
		if len(reply.Audio) == 0 {
			return errors.New("the reply has no audio")
		}
		if err := os.WriteFile(*out, reply.Audio, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s: %.2f s at %d Hz\n", *out, end.GetAudioSeconds(), reply.Format.GetSampleRateHz())
	}
	lat := end.GetLatency()
	fmt.Fprintf(os.Stderr, "%d reply tokens in %v; after the end of the turn: transcript %d ms, first text %d ms, first audio %d ms\n",
		end.GetReplyTokens(), time.Since(start).Round(time.Millisecond),
		lat.GetTranscriptMs(), lat.GetFirstTextMs(), lat.GetFirstAudioMs())
	return nil
}

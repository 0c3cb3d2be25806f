// Command voxgate-synthesize speaks text into a WAV file with a voxgate server.
//
//	voxgate-synthesize -o hello.wav "Hello there, this is voxgate."
//	voxgate-synthesize -style "speak slowly" -voice joe -o slow.wav "Take your time."
//	voxgate-synthesize -stream -o live.wav "Text sent word by word, as an LLM would."
//	echo "Text from stdin." | voxgate-synthesize -o out.wav -
//	voxgate-synthesize -voices                            # list the voices
//
// The server address comes from -addr, else $VOXGATE_ADDR, else 127.0.0.1:50051.
// TLS: -tls (the system's CAs), -tls-ca CA.pem, -tls-cert/-tls-key for mutual TLS, or
// $VOXGATE_TLS=1, $VOXGATE_TLS_CA, $VOXGATE_TLS_CERT, $VOXGATE_TLS_KEY; a bearer token:
// -token-file FILE or $VOXGATE_TOKEN (use it with TLS).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	pb "github.com/voxgate/voxgate/clients/go/gen/voxgate/v1"
	"github.com/voxgate/voxgate/clients/go/internal/cliconn"
	"github.com/voxgate/voxgate/clients/go/voxgate"
)

func main() {
	if err := run(); err != nil {
		var ve *voxgate.Error
		if errors.As(err, &ve) {
			fmt.Fprintf(os.Stderr, "voxgate-synthesize: %s: %s\n", ve.CodeName(), ve.Message)
		} else {
			fmt.Fprintf(os.Stderr, "voxgate-synthesize: %v\n", err)
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
	timeout := flag.Duration("timeout", voxgate.DefaultStreamTimeout, "deadline of the call")
	out := flag.String("o", "out.wav", "WAV file to write")
	voice := flag.String("voice", "", "a built-in voice or a registered voice's id (default: the server's)")
	style := flag.String("style", "", `style instruction, e.g. "speak slowly", "(高兴1)(慢速1)"`)
	stream := flag.Bool("stream", false, "send the text word by word through StreamSynthesize")
	voices := flag.Bool("voices", false, "list the voices and exit")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(),
			"usage: voxgate-synthesize [flags] TEXT|-\n       voxgate-synthesize [flags] -voices\n\nflags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	connOpts, err := conn.Options()
	if err != nil {
		return err
	}
	client, err := voxgate.Dial(*addr, append(connOpts, voxgate.WithTimeout(*timeout), voxgate.WithStreamTimeout(*timeout),
		voxgate.WithWaitForReady(false))...) // a command line fails at once when the server is down
	if err != nil {
		return err
	}
	defer client.Close()
	ctx := context.Background()

	if *voices {
		if flag.NArg() != 0 {
			flag.Usage()
			os.Exit(2)
		}
		list, err := client.ListVoices(ctx)
		if err != nil {
			return err
		}
		for _, v := range list {
			kind := "built-in"
			if !v.GetBuiltin() {
				kind = fmt.Sprintf("%.1f s prompt", v.GetPromptSeconds())
			}
			fmt.Printf("%s\t%s\t%s\n", v.GetId(), v.GetName(), kind)
		}
		return nil
	}

	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	text := flag.Arg(0)
	if text == "-" {
		in, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		text = strings.TrimSpace(string(in))
	}

	opts := voxgate.SynthesisOptions{
		Voice:            *voice,
		StyleInstruction: *style,
		Format:           &pb.OutputAudioFormat{Container: pb.AudioContainer_AUDIO_CONTAINER_WAV},
	}
	start := time.Now()
	var first time.Duration
	opts.OnPiece = func(r *pb.SynthesizeResponse) error {
		if first == 0 && len(r.GetAudioTokens()) > 0 {
			first = time.Since(start)
		}
		return nil
	}
	var speech *voxgate.Speech
	if *stream {
		words := strings.SplitAfter(text, " ") // pieces as an LLM would send them
		speech, err = client.StreamSynthesize(ctx, func(yield func(string) bool) {
			for _, w := range words {
				if !yield(w) {
					return
				}
			}
		}, opts)
		if err == nil {
			err = os.WriteFile(*out, speech.Audio, 0o644)
		}
	} else {
		speech, err = client.SynthesizeToFile(ctx, text, *out, opts)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: %.2f s at %d Hz, %d groups in %d messages, voice %s (first piece after %v, all in %v)\n",
		*out, speech.DurationSeconds, speech.Format.GetSampleRateHz(), speech.GroupCount, speech.Messages,
		speech.Report.GetVoice(), first.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	for _, item := range speech.Report.GetNotApplied() {
		fmt.Fprintf(os.Stderr, "  not applied: %s\n", item)
	}
	return nil
}

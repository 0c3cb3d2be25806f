// Command voxgate-tokenize tokenizes a WAV file with a voxgate server and prints the interleaved
// Step-Audio ids; it can also decode ids back to a WAV file.
//
//	voxgate-tokenize speech.wav                      # ids, space separated
//	voxgate-tokenize -format text speech.wav         # <audio_N><audio_N>...
//	voxgate-tokenize -stream -chunk 3200 speech.wav  # same ids, sent as live audio
//	voxgate-tokenize -o roundtrip.wav speech.wav     # ids, then decode them to roundtrip.wav
//	voxgate-tokenize -detokenize out.wav < ids.txt   # decode ids (or <audio_N> text) from stdin
//	voxgate-tokenize -info                           # GetServerInfo as JSON
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
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/voxgate/voxgate/clients/go/internal/cliconn"
	"github.com/voxgate/voxgate/clients/go/voxgate"
)

func main() {
	if err := run(); err != nil {
		var ve *voxgate.Error
		if errors.As(err, &ve) {
			fmt.Fprintf(os.Stderr, "voxgate-tokenize: %s: %s\n", ve.CodeName(), ve.Message)
		} else {
			fmt.Fprintf(os.Stderr, "voxgate-tokenize: %v\n", err)
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
	timeout := flag.Duration("timeout", voxgate.DefaultTimeout, "deadline of each call")
	stream := flag.Bool("stream", false, "use StreamTokenize, sending the file in pieces")
	chunk := flag.Int("chunk", voxgate.DefaultChunkBytes, "piece size in bytes for -stream")
	format := flag.String("format", "ids", "output: ids (space separated), text (<audio_N>...) or json")
	out := flag.String("o", "", "also decode the tokens back to this WAV file")
	detok := flag.String("detokenize", "", "decode ids (or <audio_N> text) read from stdin to this WAV file")
	info := flag.Bool("info", false, "print GetServerInfo as JSON and exit")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(),
			"usage: voxgate-tokenize [flags] FILE.wav\n       voxgate-tokenize [flags] -detokenize OUT.wav < ids.txt\n       voxgate-tokenize [flags] -info\n\nflags:\n")
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

	switch {
	case *info:
		if flag.NArg() != 0 {
			flag.Usage()
			os.Exit(2)
		}
		resp, err := client.ServerInfo(ctx)
		if err != nil {
			return err
		}
		fmt.Println(protojson.MarshalOptions{Multiline: true}.Format(resp))
		return nil
	case *detok != "":
		if flag.NArg() != 0 {
			flag.Usage()
			os.Exit(2)
		}
		in, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		var a *voxgate.Audio
		if text := strings.TrimSpace(string(in)); strings.HasPrefix(text, "<audio_") {
			a, err = client.DetokenizeText(ctx, text, nil)
		} else {
			var ids []int32
			if ids, err = parseIDs(text); err != nil {
				return err
			}
			a, err = client.Detokenize(ctx, ids, nil)
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(*detok, a.Data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s: %d groups, %.2f s, %d Hz\n", *detok, a.GroupCount, a.DurationSeconds, a.Format.GetSampleRateHz())
		return nil
	}

	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	path := flag.Arg(0)
	start := time.Now()
	var toks *voxgate.Tokens
	if *stream {
		toks, err = client.StreamTokenizeFile(ctx, path, *chunk)
	} else {
		toks, err = client.TokenizeFile(ctx, path)
	}
	if err != nil {
		return err
	}
	elapsed := time.Since(start)

	switch *format {
	case "ids":
		s := make([]string, len(toks.Interleaved))
		for i, id := range toks.Interleaved {
			s[i] = strconv.Itoa(int(id))
		}
		fmt.Println(strings.Join(s, " "))
	case "text":
		fmt.Println(toks.Text)
	case "json":
		fmt.Printf("{\"request_id\":%q,\"group_count\":%d,\"linguistic\":%s,\"semantic\":%s,\"interleaved\":%s}\n",
			toks.RequestID, toks.GroupCount, jsonInts(toks.Linguistic), jsonInts(toks.Semantic), jsonInts(toks.Interleaved))
	default:
		return fmt.Errorf("unknown -format %q (ids, text or json)", *format)
	}
	fmt.Fprintf(os.Stderr, "%s: %d groups, %d ids in %v\n", path, toks.GroupCount, len(toks.Interleaved), elapsed.Round(time.Millisecond))

	if *out != "" {
		a, err := client.DetokenizeToFile(ctx, toks.Interleaved, *out)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s: %.2f s, %d Hz\n", *out, a.DurationSeconds, a.Format.GetSampleRateHz())
	}
	return nil
}

// parseIDs reads ids separated by whitespace and/or commas.
func parseIDs(s string) ([]int32, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' || r == '[' || r == ']'
	})
	ids := make([]int32, 0, len(fields))
	for _, f := range fields {
		n, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("bad token id %q", f)
		}
		ids = append(ids, int32(n))
	}
	if len(ids) == 0 {
		return nil, errors.New("no token ids on stdin")
	}
	return ids, nil
}

func jsonInts(v []int32) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(int(x))
	}
	return "[" + strings.Join(s, ",") + "]"
}

package voxgate

// The published service config (service_config.json, embedded; Dial's default): wait-for-ready
// against an unreachable server and one that starts listening late (a TCP relay to the live
// voxgate), and the retry policy against an in-process server that answers UNAVAILABLE.

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/voxgate/voxgate/clients/go/gen/voxgate/v1"
)

func TestServiceConfigIsThePublishedOne(t *testing.T) {
	published, err := os.ReadFile(filepath.Join(repoRoot(t), "service", "voxgate", "service_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(published) != serviceConfigJSON {
		t.Fatal("voxgate/service_config.json differs from service/voxgate/service_config.json: run clients/go/generate.sh")
	}
	for _, wait := range []bool{true, false} {
		var cfg struct {
			MethodConfig []struct {
				Name         []map[string]string `json:"name"`
				WaitForReady *bool               `json:"waitForReady"`
				RetryPolicy  *struct {
					MaxAttempts          int      `json:"maxAttempts"`
					RetryableStatusCodes []string `json:"retryableStatusCodes"`
				} `json:"retryPolicy"`
			} `json:"methodConfig"`
		}
		if err := json.Unmarshal([]byte(ServiceConfig(wait)), &cfg); err != nil {
			t.Fatal(err)
		}
		if len(cfg.MethodConfig) != 2 {
			t.Fatalf("%d method configs, want 2", len(cfg.MethodConfig))
		}
		for _, mc := range cfg.MethodConfig {
			if mc.WaitForReady == nil || *mc.WaitForReady != wait {
				t.Errorf("ServiceConfig(%v): waitForReady %v for %v", wait, mc.WaitForReady, mc.Name)
			}
		}
		rp := cfg.MethodConfig[0].RetryPolicy
		if rp == nil || rp.MaxAttempts != 4 || strings.Join(rp.RetryableStatusCodes, ",") != "UNAVAILABLE" {
			t.Errorf("retry policy of the unary methods lost: %+v", rp)
		}
	}
}

// Port 1 on loopback: nothing listens there, connections are refused at once.
const unreachable = "127.0.0.1:1"

func TestUnreachableFailsFastWithoutWaitForReady(t *testing.T) {
	c, err := Dial(unreachable, WithWaitForReady(false), WithTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = c.ServerInfo(context.Background())
	if CodeOf(err) != codes.Unavailable {
		t.Fatalf("ServerInfo of an unreachable server without wait-for-ready: %v, want UNAVAILABLE", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("UNAVAILABLE took %v; without wait-for-ready it should not wait for the deadline", d)
	}
	// A whole stream too.
	_, err = c.Synthesize(context.Background(), "Hello.", SynthesisOptions{})
	if CodeOf(err) != codes.Unavailable {
		t.Fatalf("Synthesize of an unreachable server without wait-for-ready: %v, want UNAVAILABLE", err)
	}
}

func TestUnreachableWaitsForReadyUntilTheDeadline(t *testing.T) {
	c, err := Dial(unreachable, WithTimeout(1500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = c.ServerInfo(context.Background())
	if CodeOf(err) != codes.DeadlineExceeded {
		t.Fatalf("ServerInfo of an unreachable server with wait-for-ready: %v, want DEADLINE_EXCEEDED", err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("the call ended after %v, before its deadline: it did not wait for the server", d)
	}
}

// relay accepts connections on ln and copies bytes both ways to target.
func relay(t *testing.T, ln net.Listener, target string) {
	t.Helper()
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				io.Copy(dst, src)
				dst.Close()
				src.Close()
			}
			go pipe(out, in)
			go pipe(in, out)
		}
	}()
}

// freePort returns a loopback address nothing listens on (the kernel just handed it out).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestWaitForReadyCallSucceedsOnceTheServerListens(t *testing.T) {
	live := liveAddr(t)
	addr := freePort(t)
	c, err := Dial(addr, WithTimeout(60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	type result struct {
		info *pb.GetServerInfoResponse
		err  error
	}
	unary := make(chan result, 1)
	go func() {
		info, err := c.ServerInfo(context.Background())
		unary <- result{info, err}
	}()
	voices := make(chan error, 1)
	go func() {
		_, err := c.Synthesize(context.Background(), "Hello there.", SynthesisOptions{})
		voices <- err
	}()

	time.Sleep(2 * time.Second) // the client has tried, and failed, to connect by now
	select {
	case r := <-unary:
		t.Fatalf("ServerInfo returned before anything listened on %s: %v", addr, r.err)
	case err := <-voices:
		t.Fatalf("Synthesize returned before anything listened on %s: %v", addr, err)
	default:
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", addr, err)
	}
	relay(t, ln, live)
	r := <-unary
	if r.err != nil {
		t.Fatalf("ServerInfo, once the server listens: %v", r.err)
	}
	if got := r.info.GetTokenSpec().GetVocabularySize(); got != 5120 {
		t.Errorf("vocabulary size %d, want 5120", got)
	}
	if err := <-voices; err != nil {
		t.Fatalf("Synthesize, once the server listens: %v", err)
	}
}

// flaky is an in-process voxgate that answers UNAVAILABLE: GetServerInfo for its first
// failInfo attempts (then the live server's answer), Tokenize and Synthesize always. It counts
// the attempts of each method and the grpc-previous-rpc-attempts header of the last one.
type flaky struct {
	pb.UnimplementedDiscoveryServiceServer
	pb.UnimplementedTokenizerServiceServer
	pb.UnimplementedSynthesisServiceServer

	live     pb.DiscoveryServiceClient
	failInfo int

	mu       sync.Mutex
	attempts map[string]int
	previous map[string]string
}

func (f *flaky) count(ctx context.Context, method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts[method]++
	md, _ := metadata.FromIncomingContext(ctx)
	f.previous[method] = strings.Join(md.Get("grpc-previous-rpc-attempts"), ",")
	return f.attempts[method]
}

func (f *flaky) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts = map[string]int{}
	f.previous = map[string]string{}
}

func (f *flaky) get(method string) (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[method], f.previous[method]
}

var errDown = status.Error(codes.Unavailable, "try again")

func (f *flaky) GetServerInfo(ctx context.Context, req *pb.GetServerInfoRequest) (*pb.GetServerInfoResponse, error) {
	if f.count(ctx, "GetServerInfo") <= f.failInfo {
		return nil, errDown
	}
	return f.live.GetServerInfo(ctx, req)
}

func (f *flaky) Tokenize(ctx context.Context, _ *pb.TokenizeRequest) (*pb.TokenizeResponse, error) {
	f.count(ctx, "Tokenize")
	return nil, errDown
}

func (f *flaky) Synthesize(_ *pb.SynthesizeRequest, stream grpc.ServerStreamingServer[pb.SynthesizeResponse]) error {
	f.count(stream.Context(), "Synthesize")
	return errDown
}

func TestRetryPolicy(t *testing.T) {
	liveConn, err := grpc.NewClient("passthrough:///"+liveAddr(t), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer liveConn.Close()
	f := &flaky{live: pb.NewDiscoveryServiceClient(liveConn), failInfo: 2}
	f.reset()
	srv := grpc.NewServer()
	pb.RegisterDiscoveryServiceServer(srv, f)
	pb.RegisterTokenizerServiceServer(srv, f)
	pb.RegisterSynthesisServiceServer(srv, f)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Stop()

	c, err := Dial(ln.Addr().String(), WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	// Two UNAVAILABLE answers, then the live server's: the call succeeds on its third attempt.
	info, err := c.ServerInfo(ctx)
	if err != nil {
		t.Fatalf("ServerInfo with two UNAVAILABLE answers before the real one: %v", err)
	}
	if info.GetTokenSpec().GetVocabularySize() != 5120 {
		t.Errorf("vocabulary size %d, want 5120", info.GetTokenSpec().GetVocabularySize())
	}
	if n, prev := f.get("GetServerInfo"); n != 3 || prev != "2" {
		t.Errorf("GetServerInfo: %d attempts (previous-attempts header %q), want 3 (\"2\")", n, prev)
	}

	// Always UNAVAILABLE: maxAttempts (4) attempts, then the last status.
	_, err = c.Tokenize(ctx, []byte("RIFF small"))
	if CodeOf(err) != codes.Unavailable {
		t.Fatalf("Tokenize: %v, want UNAVAILABLE", err)
	}
	if n, prev := f.get("Tokenize"); n != 4 || prev != "3" {
		t.Errorf("Tokenize: %d attempts (previous-attempts header %q), want 4 (\"3\")", n, prev)
	}

	// Synthesize has no retry policy: one attempt.
	_, err = c.Synthesize(ctx, "Hello.", SynthesisOptions{})
	if CodeOf(err) != codes.Unavailable {
		t.Fatalf("Synthesize: %v, want UNAVAILABLE", err)
	}
	if n, _ := f.get("Synthesize"); n != 1 {
		t.Errorf("Synthesize: %d attempts, want 1 (no retry policy)", n)
	}

	// A request larger than grpc-go's retry buffer (256 KiB) is not retried.
	f.reset()
	_, err = c.Tokenize(ctx, make([]byte, 300<<10))
	if CodeOf(err) != codes.Unavailable {
		t.Fatalf("Tokenize of 300 KiB: %v, want UNAVAILABLE", err)
	}
	if n, _ := f.get("Tokenize"); n != 1 {
		t.Errorf("Tokenize of 300 KiB: %d attempts, want 1 (beyond the retry buffer)", n)
	}

	// Without the service config there are no retries: the policy above is the config's doing.
	bare, err := Dial(ln.Addr().String(), WithServiceConfig(""), WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	f.reset()
	if _, err := bare.Tokenize(ctx, []byte("RIFF small")); CodeOf(err) != codes.Unavailable {
		t.Fatalf("Tokenize without a service config: %v, want UNAVAILABLE", err)
	}
	if n, _ := f.get("Tokenize"); n != 1 {
		t.Errorf("Tokenize without a service config: %d attempts, want 1", n)
	}

	// A service config that is not JSON is refused by Dial.
	if _, err := Dial(ln.Addr().String(), WithServiceConfig("{")); err == nil {
		t.Errorf("Dial with a broken service config: %v, want an error", err)
	}
}

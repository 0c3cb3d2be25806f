package voxgate

// Checks the grpcurl recipes of clients/go/README.md against the live server, with the pinned
// grpcurl (installed by clients/go/test.sh into clients/go/.bin, or $GRPCURL). Everything goes
// through server reflection: no proto files are given to grpcurl.

import (
	"bytes"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// grpcurlVersion is the pinned grpcurl, installed by test.sh with
// go install github.com/fullstorydev/grpcurl/cmd/grpcurl@<grpcurlVersion>.
const grpcurlVersion = "v1.9.4"

func grpcurlBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("GRPCURL")
	if bin == "" {
		bin = filepath.Join("..", ".bin", "grpcurl")
	}
	if _, err := os.Stat(bin); err != nil {
		msg := fmt.Sprintf("grpcurl not found at %s (run clients/go/test.sh, or GOBIN=$PWD/.bin go install "+
			"github.com/fullstorydev/grpcurl/cmd/grpcurl@%s in clients/go, or set GRPCURL)", bin, grpcurlVersion)
		if os.Getenv("VOXGATE_REQUIRE_GRPCURL") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	// grpcurl installed with go install prints "dev build" for -version; the Go build info has the
	// module version.
	info, err := buildinfo.ReadFile(abs)
	if err != nil {
		t.Fatalf("reading the build info of %s: %v", abs, err)
	}
	if info.Main.Path != "github.com/fullstorydev/grpcurl" || info.Main.Version != grpcurlVersion {
		t.Fatalf("%s is %s@%s, want github.com/fullstorydev/grpcurl@%s", abs, info.Main.Path, info.Main.Version, grpcurlVersion)
	}
	return abs
}

type grpcurlResult struct {
	stdout, stderr string
	exit           int
}

// grpcurl runs the binary with args and stdin; it fails the test only when it cannot run at all.
func grpcurl(t *testing.T, bin, stdin string, args ...string) grpcurlResult {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-max-time", "60"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	start := time.Now()
	err := cmd.Run()
	r := grpcurlResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.exit = ee.ExitCode()
	case err != nil:
		t.Fatalf("grpcurl %v: %v", args, err)
	}
	t.Logf("grpcurl %s: exit %d in %v", strings.Join(args, " "), r.exit, time.Since(start).Round(time.Millisecond))
	return r
}

func mustSucceed(t *testing.T, r grpcurlResult) {
	t.Helper()
	if r.exit != 0 {
		t.Fatalf("grpcurl exited %d\nstdout: %s\nstderr: %s", r.exit, r.stdout, r.stderr)
	}
}

func TestGrpcurl(t *testing.T) {
	bin := grpcurlBin(t)
	addr := liveAddr(t)
	m := loadManifest(t)

	t.Run("list", func(t *testing.T) {
		r := grpcurl(t, bin, "", "-plaintext", addr, "list")
		mustSucceed(t, r)
		services := strings.Fields(r.stdout)
		for _, want := range []string{
			"voxgate.v1.TokenizerService", "voxgate.v1.DiscoveryService",
			"grpc.health.v1.Health",
		} {
			if !slices.Contains(services, want) {
				t.Errorf("list = %v, want %s among them", services, want)
			}
		}
		if !slices.ContainsFunc(services, func(s string) bool { return strings.HasPrefix(s, "grpc.reflection.") }) {
			t.Errorf("list = %v, want a grpc.reflection service among them", services)
		}
	})

	t.Run("describe", func(t *testing.T) {
		r := grpcurl(t, bin, "", "-plaintext", addr, "describe", "voxgate.v1.TokenizerService")
		mustSucceed(t, r)
		for _, want := range []string{
			"rpc Tokenize ( .voxgate.v1.TokenizeRequest ) returns ( .voxgate.v1.TokenizeResponse )",
			"rpc StreamTokenize ( stream .voxgate.v1.StreamTokenizeRequest ) returns ( stream .voxgate.v1.StreamTokenizeResponse )",
			"rpc Detokenize ( .voxgate.v1.DetokenizeRequest ) returns ( .voxgate.v1.DetokenizeResponse )",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("describe output lacks %q:\n%s", want, r.stdout)
			}
		}
		r = grpcurl(t, bin, "", "-plaintext", addr, "describe", "voxgate.v1.AudioTokens")
		mustSucceed(t, r)
		if !strings.Contains(r.stdout, "repeated int32 interleaved = 3;") {
			t.Errorf("describe voxgate.v1.AudioTokens lacks the interleaved field:\n%s", r.stdout)
		}
	})

	t.Run("health", func(t *testing.T) {
		r := grpcurl(t, bin, "", "-plaintext", addr, "grpc.health.v1.Health/Check")
		mustSucceed(t, r)
		var resp struct{ Status string }
		if err := json.Unmarshal(normalizeJSON(t, r.stdout), &resp); err != nil || resp.Status != "SERVING" {
			t.Errorf("Health/Check = %q (%v), want status SERVING", r.stdout, err)
		}
	})

	t.Run("GetServerInfo", func(t *testing.T) {
		r := grpcurl(t, bin, "", "-plaintext", addr, "voxgate.v1.DiscoveryService/GetServerInfo")
		mustSucceed(t, r)
		var resp struct {
			RequestID string `json:"requestid"`
			TokenSpec struct {
				VocabularySize int    `json:"vocabularysize"`
				GroupPattern   string `json:"grouppattern"`
			} `json:"tokenspec"`
			ImplementedServices []string `json:"implementedservices"`
		}
		if err := json.Unmarshal(normalizeJSON(t, r.stdout), &resp); err != nil {
			t.Fatalf("GetServerInfo output is not JSON: %v\n%s", err, r.stdout)
		}
		if resp.TokenSpec.VocabularySize != 5120 || resp.TokenSpec.GroupPattern != "llsss" {
			t.Errorf("token_spec = %+v, want vocabulary_size 5120 and group_pattern llsss", resp.TokenSpec)
		}
		if resp.RequestID == "" || !slices.Contains(resp.ImplementedServices, "voxgate.v1.TokenizerService") {
			t.Errorf("request_id %q, implemented_services %v", resp.RequestID, resp.ImplementedServices)
		}
	})

	t.Run("Tokenize", func(t *testing.T) {
		tc := m.Tokenize[0]
		body := fmt.Sprintf(`{"audio": {"container": "%s"}, "include_text": true}`,
			base64.StdEncoding.EncodeToString(m.read(t, tc.File)))
		r := grpcurl(t, bin, body, "-plaintext", "-d", "@", addr, "voxgate.v1.TokenizerService/Tokenize")
		mustSucceed(t, r)
		var resp struct {
			RequestID string `json:"requestid"`
			Tokens    struct {
				Linguistic  []int32 `json:"linguistic"`
				Semantic    []int32 `json:"semantic"`
				Interleaved []int32 `json:"interleaved"`
				Text        string  `json:"text"`
				GroupCount  int     `json:"groupcount"`
			} `json:"tokens"`
			AudioDurationSeconds float64 `json:"audiodurationseconds"`
		}
		if err := json.Unmarshal(normalizeJSON(t, r.stdout), &resp); err != nil {
			t.Fatalf("Tokenize output is not JSON: %v\n%s", err, r.stdout)
		}
		got := &Tokens{
			Linguistic: resp.Tokens.Linguistic, Semantic: resp.Tokens.Semantic,
			Interleaved: resp.Tokens.Interleaved, Text: resp.Tokens.Text, GroupCount: resp.Tokens.GroupCount,
		}
		checkTokens(t, "grpcurl Tokenize "+tc.Name, got, tc)
		if resp.RequestID == "" || resp.AudioDurationSeconds <= 0 {
			t.Errorf("request_id %q, audio_duration_seconds %v", resp.RequestID, resp.AudioDurationSeconds)
		}
	})

	t.Run("error", func(t *testing.T) {
		// grpcurl exits with 64 + the status code when the RPC fails.
		body := fmt.Sprintf(`{"audio": {"container": "%s"}}`, base64.StdEncoding.EncodeToString([]byte("not audio at all")))
		r := grpcurl(t, bin, body, "-plaintext", "-d", "@", addr, "voxgate.v1.TokenizerService/Tokenize")
		if r.exit != 64+3 || !strings.Contains(r.stderr, "Code: InvalidArgument") {
			t.Errorf("Tokenize of garbage: exit %d, stderr %q; want exit 67 (64 + INVALID_ARGUMENT)", r.exit, r.stderr)
		}
	})
}

// normalizeJSON drops the underscores from every object key, so that the proto names
// ("request_id") and the lowerCamelCase JSON names ("requestId") both decode into fields tagged
// "requestid" (encoding/json matches keys without regard to case). grpcurl prints whichever the
// server's reflection descriptors carry: voxgate's Python server sends descriptors without
// json_name, so grpcurl prints the proto names.
func normalizeJSON(t *testing.T, s string) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("grpcurl output is not JSON: %v\n%s", err, s)
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			m := make(map[string]any, len(x))
			for k, e := range x {
				m[strings.ReplaceAll(k, "_", "")] = walk(e)
			}
			return m
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		}
		return v
	}
	out, err := json.Marshal(walk(v))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

package voxgate

// TLS, mutual TLS and bearer tokens, against a second live voxgate that clients/go/test.sh starts
// with them on (clients/tls-test-server.sh: --tls-cert, --tls-client-ca, --auth-tokens-file):
// its host:port in $VOXGATE_TEST_TLS_ADDR, its certificates (scripts/make_test_certs.py) and
// tokens ("token": tenant acme, every service; "kiosk.token": SynthesisService only) in
// $VOXGATE_TEST_TLS_DIR. Without those the live tests here are skipped.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type tlsServer struct {
	addr, dir  string
	token      string // tenant acme: every service
	kioskToken string // tenant kiosk: SynthesisService only
}

func liveTLSServer(t *testing.T) *tlsServer {
	t.Helper()
	addr, dir := os.Getenv("VOXGATE_TEST_TLS_ADDR"), os.Getenv("VOXGATE_TEST_TLS_DIR")
	if addr == "" || dir == "" {
		t.Skip("VOXGATE_TEST_TLS_ADDR / VOXGATE_TEST_TLS_DIR are not set: clients/go/test.sh starts " +
			"a voxgate with TLS, mutual TLS and tokens for these tests (clients/tls-test-server.sh)")
	}
	s := &tlsServer{addr: addr, dir: dir}
	for name, to := range map[string]*string{"token": &s.token, "kiosk.token": &s.kioskToken} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		*to = strings.TrimSpace(string(data))
	}
	return s
}

func (s *tlsServer) file(name string) string { return filepath.Join(s.dir, name) }

// mtls trusts the test CA and presents the client certificate it signed.
func (s *tlsServer) mtls() TLSOptions {
	return TLSOptions{CAFile: s.file("ca.pem"), CertFile: s.file("client.pem"), KeyFile: s.file("client.key")}
}

// serverInfoErr makes one GetServerInfo (failing fast: no wait-for-ready) and returns its error.
func serverInfoErr(t *testing.T, addr string, opts ...Option) error {
	t.Helper()
	c, err := Dial(addr, append([]Option{WithTimeout(30 * time.Second), WithWaitForReady(false)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.ServerInfo(context.Background())
	return err
}

func TestTLSMutualWithATokenWorks(t *testing.T) {
	s := liveTLSServer(t)
	m := loadManifest(t)
	tc := m.Tokenize[0]
	// The default service config (wait-for-ready, retries) over a mutual-TLS connection.
	c, err := Dial(s.addr, WithTLS(s.mtls()), WithToken(s.token), WithTimeout(60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	info, err := c.ServerInfo(ctx)
	if err != nil {
		t.Fatalf("ServerInfo over mutual TLS with a token: %v", err)
	}
	if got := info.GetTokenSpec().GetVocabularySize(); got != 5120 {
		t.Errorf("vocabulary size %d, want 5120", got)
	}
	toks, err := c.TokenizeFile(ctx, m.path(tc.File))
	if err != nil {
		t.Fatalf("Tokenize %s: %v", tc.Name, err)
	}
	if !slices.Equal(toks.Interleaved, tc.Interleaved) || toks.GroupCount != tc.GroupCount {
		t.Errorf("Tokenize %s: %d groups, interleaved differ from the vector (%d groups)", tc.Name, toks.GroupCount, tc.GroupCount)
	}
	// A streaming call carries the token too.
	streamed, err := c.StreamTokenizeFile(ctx, m.path(tc.File), 4096)
	if err != nil {
		t.Fatalf("StreamTokenize %s: %v", tc.Name, err)
	}
	if !slices.Equal(streamed.Interleaved, tc.Interleaved) {
		t.Errorf("StreamTokenize %s: interleaved differ from the vector", tc.Name)
	}
}

func TestTLSServerNameOverride(t *testing.T) {
	s := liveTLSServer(t)
	_, port, _ := strings.Cut(s.addr, ":")
	opts := s.mtls()
	opts.ServerName = "localhost" // dialled by IP address, checked against the name
	if err := serverInfoErr(t, "127.0.0.1:"+port, WithTLS(opts), WithToken(s.token)); err != nil {
		t.Errorf("ServerName localhost: %v", err)
	}
	opts.ServerName = "not-the-server.example"
	if got := CodeOf(serverInfoErr(t, s.addr, WithTLS(opts), WithToken(s.token))); got != codes.Unavailable {
		t.Errorf("ServerName not on the certificate: %s, want UNAVAILABLE", CodeName(got))
	}
}

func TestTLSRefusals(t *testing.T) {
	s := liveTLSServer(t)
	caOnly := TLSOptions{CAFile: s.file("ca.pem")}
	untrusted := TLSOptions{CAFile: s.file("ca.pem"), CertFile: s.file("untrusted-client.pem"), KeyFile: s.file("untrusted-client.key")}
	otherCA := s.mtls()
	otherCA.CAFile = s.file("other-ca.pem")
	const missing = "missing credentials: send the metadata 'authorization: Bearer <token>'"
	for _, tc := range []struct {
		name    string
		opts    []Option
		code    codes.Code
		message string // "" = any
	}{
		{"no client certificate", []Option{WithTLS(caOnly), WithToken(s.token)}, codes.Unavailable, ""},
		{"a client certificate of another CA", []Option{WithTLS(untrusted), WithToken(s.token)}, codes.Unavailable, ""},
		{"a server certificate from an untrusted CA", []Option{WithTLS(otherCA), WithToken(s.token)}, codes.Unavailable, ""},
		{"plaintext to the TLS port", []Option{WithToken(s.token)}, codes.Unavailable, ""},
		{"no token", []Option{WithTLS(s.mtls())}, codes.Unauthenticated, missing},
		{"an unknown token", []Option{WithTLS(s.mtls()), WithToken("not-a-token")}, codes.Unauthenticated, "invalid token"},
		{"a tenant limited to SynthesisService", []Option{WithTLS(s.mtls()), WithToken(s.kioskToken)},
			codes.PermissionDenied, "tenant 'kiosk' may not call voxgate.v1.DiscoveryService"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := serverInfoErr(t, s.addr, tc.opts...)
			var ve *Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %v (%T), want a *voxgate.Error", err, err)
			}
			if ve.Code != tc.code || (tc.message != "" && ve.Message != tc.message) {
				t.Errorf("%s: %q, want %s: %q", ve.CodeName(), ve.Message, CodeName(tc.code), tc.message)
			}
			t.Logf("%s: %s", ve.CodeName(), ve.Message)
			if status.Code(err) != tc.code {
				t.Errorf("status.Code = %s, want %s", status.Code(err), tc.code)
			}
		})
	}
	// With wait-for-ready (the default) a refused handshake is retried until the deadline.
	c0, err := Dial(s.addr, WithTLS(TLSOptions{CAFile: s.file("ca.pem")}), WithToken(s.token), WithTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c0.Close()
	if _, err := c0.ServerInfo(context.Background()); CodeOf(err) != codes.DeadlineExceeded {
		t.Errorf("no client certificate, wait-for-ready: %v, want DEADLINE_EXCEEDED", err)
	}
	// The kiosk tenant may call the service it is limited to.
	c, err := Dial(s.addr, WithTLS(s.mtls()), WithToken(s.kioskToken), WithWaitForReady(false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ListVoices(context.Background()); err != nil {
		t.Errorf("ListVoices as kiosk: %v", err)
	}
}

func TestTLSOptionsRefuseBadFiles(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := Dial("127.0.0.1:1", WithToken("two words")); err == nil {
		c.Close()
		t.Error("a token with a space: Dial succeeded")
	}
	for name, opts := range map[string]TLSOptions{
		"a missing CA file":          {CAFile: filepath.Join(dir, "missing.pem")},
		"a CA file without PEM":      {CAFile: notPEM},
		"a key without certificate":  {KeyFile: notPEM},
		"a certificate without key":  {CertFile: notPEM},
		"a certificate that is none": {CertFile: notPEM, KeyFile: notPEM},
	} {
		if c, err := Dial("127.0.0.1:1", WithTLS(opts)); err == nil {
			c.Close()
			t.Errorf("%s: Dial succeeded", name)
		}
	}
}

// The example CLI reads TLS files and the token from the environment (or its flags).
func TestTLSExampleCLI(t *testing.T) {
	s := liveTLSServer(t)
	bin := os.Getenv("VOXGATE_TOKENIZE_CLI")
	if bin == "" {
		t.Skip("VOXGATE_TOKENIZE_CLI is not set (clients/go/test.sh builds and sets it)")
	}
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VOXGATE_TLS") && !strings.HasPrefix(kv, "VOXGATE_TOKEN=") {
			base = append(base, kv)
		}
	}
	tlsEnv := []string{"VOXGATE_TLS_CA=" + s.file("ca.pem"), "VOXGATE_TLS_CERT=" + s.file("client.pem"),
		"VOXGATE_TLS_KEY=" + s.file("client.key")}
	run := func(env []string, args ...string) (string, string, int) {
		cmd := exec.Command(bin, append([]string{"-addr", s.addr, "-timeout", "30s"}, args...)...)
		cmd.Env = append(slices.Clone(base), env...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return out.String(), errb.String(), cmd.ProcessState.ExitCode()
	}
	out, stderr, code := run(append(slices.Clone(tlsEnv), "VOXGATE_TOKEN="+s.token), "-info")
	if code != 0 || !strings.Contains(out, "vocabularySize") {
		t.Errorf("-info with $VOXGATE_TLS_* and $VOXGATE_TOKEN: exit %d\n%s%s", code, out, stderr)
	}
	_, stderr, code = run(tlsEnv, "-info")
	if code != 1 || !strings.Contains(stderr, "UNAUTHENTICATED: missing credentials") {
		t.Errorf("-info without a token: exit %d, stderr %q; want 1 and UNAUTHENTICATED", code, stderr)
	}
	_, stderr, code = run(nil, "-tls-ca", s.file("ca.pem"), "-tls-cert", s.file("client.pem"),
		"-tls-key", s.file("client.key"), "-token-file", s.file("kiosk.token"), "-info")
	if code != 1 || !strings.Contains(stderr, "PERMISSION_DENIED: tenant 'kiosk'") {
		t.Errorf("-info with flags and the kiosk token: exit %d, stderr %q; want 1 and PERMISSION_DENIED", code, stderr)
	}
}

// grpcurl over mutual TLS with a token (the recipe in README.md).
func TestTLSGrpcurl(t *testing.T) {
	s := liveTLSServer(t)
	bin := grpcurlBin(t)
	tlsArgs := []string{"-cacert", s.file("ca.pem"), "-cert", s.file("client.pem"), "-key", s.file("client.key")}
	r := grpcurl(t, bin, "", append(slices.Clone(tlsArgs), "-H", "authorization: Bearer "+s.token,
		s.addr, "voxgate.v1.DiscoveryService/GetServerInfo")...)
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, "vocabulary_size") {
		t.Errorf("GetServerInfo output lacks vocabulary_size:\n%s", r.stdout)
	}
	r = grpcurl(t, bin, "", append(slices.Clone(tlsArgs), s.addr, "voxgate.v1.DiscoveryService/GetServerInfo")...)
	if r.exit != 64+int(codes.Unauthenticated) || !strings.Contains(r.stderr, "Unauthenticated") {
		t.Errorf("without a token: exit %d, stderr %q; want %d (Unauthenticated)", r.exit, r.stderr, 64+int(codes.Unauthenticated))
	}
}

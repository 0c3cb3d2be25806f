package cliconn

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/voxgate/voxgate/clients/go/voxgate"
)

func parse(t *testing.T, args ...string) *Flags {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f := Register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

func clearEnv(t *testing.T) {
	for _, k := range []string{"VOXGATE_TLS", "VOXGATE_TLS_CA", "VOXGATE_TLS_CERT", "VOXGATE_TLS_KEY", "VOXGATE_TOKEN"} {
		t.Setenv(k, "")
	}
}

func TestPlaintextAndNoTokenByDefault(t *testing.T) {
	clearEnv(t)
	f := parse(t)
	if got := f.TLSOptions(); got != nil {
		t.Errorf("TLSOptions() = %+v, want nil (plaintext)", got)
	}
	if tok, err := f.Token(); tok != "" || err != nil {
		t.Errorf("Token() = %q, %v; want none", tok, err)
	}
}

func TestTheEnvironmentSetsTLSAndTheToken(t *testing.T) {
	clearEnv(t)
	t.Setenv("VOXGATE_TLS_CA", "ca.pem")
	t.Setenv("VOXGATE_TLS_CERT", "c.pem")
	t.Setenv("VOXGATE_TLS_KEY", "c.key")
	t.Setenv("VOXGATE_TOKEN", " secret\n")
	f := parse(t)
	got := f.TLSOptions()
	if got == nil || got.CAFile != "ca.pem" || got.CertFile != "c.pem" || got.KeyFile != "c.key" {
		t.Errorf("TLSOptions() = %+v", got)
	}
	if tok, _ := f.Token(); tok != "secret" {
		t.Errorf("Token() = %q, want secret", tok)
	}
	// Flags win over the environment.
	f = parse(t, "-tls-ca", "other.pem", "-tls-server-name", "voxgate.internal")
	if got := f.TLSOptions(); got.CAFile != "other.pem" || got.ServerName != "voxgate.internal" {
		t.Errorf("TLSOptions() = %+v", got)
	}
}

func TestTLSWithTheSystemRoots(t *testing.T) {
	clearEnv(t)
	t.Setenv("VOXGATE_TLS", "1")
	if got := parse(t).TLSOptions(); got == nil || *got != (voxgate.TLSOptions{}) {
		t.Errorf("VOXGATE_TLS=1: TLSOptions() = %+v, want the zero TLSOptions", got)
	}
	clearEnv(t)
	if got := parse(t, "-tls").TLSOptions(); got == nil || *got != (voxgate.TLSOptions{}) {
		t.Errorf("-tls: TLSOptions() = %+v, want the zero TLSOptions", got)
	}
}

func TestTheTokenFileWinsOverTheEnvironment(t *testing.T) {
	clearEnv(t)
	t.Setenv("VOXGATE_TOKEN", "from-env")
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if tok, err := parse(t, "-token-file", path).Token(); tok != "from-file" || err != nil {
		t.Errorf("Token() = %q, %v; want from-file", tok, err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := parse(t, "-token-file", empty).Token(); err == nil {
		t.Error("an empty token file: no error")
	}
	if _, err := parse(t, "-token-file", filepath.Join(t.TempDir(), "missing")).Options(); err == nil {
		t.Error("a missing token file: no error")
	}
}

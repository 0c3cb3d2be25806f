package voxgate

// The live server the tests run against: the one at $VOXGATE_ADDR (host:port). The tests do not
// start a server themselves; clients/go/test.sh runs them under
// `<repo>/.venv/bin/voxgate with-server -- go test ...`, which starts a fresh voxgate on a free
// port, sets VOXGATE_ADDR, and stops it afterwards.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// liveServerAddr is $VOXGATE_ADDR, read once by TestMain.
var liveServerAddr string

const noServerHint = "VOXGATE_ADDR is not set: run the live tests against a voxgate with " +
	"clients/go/test.sh, or `<repo>/.venv/bin/voxgate with-server -- go test ./...`, " +
	"or set VOXGATE_ADDR=host:port of a running server"

func TestMain(m *testing.M) {
	liveServerAddr = strings.TrimSpace(os.Getenv("VOXGATE_ADDR"))
	if liveServerAddr == "" {
		fmt.Fprintln(os.Stderr, "note: "+noServerHint+" (tests that need a server will fail)")
	}
	os.Exit(m.Run())
}

// repoRoot is the voxgate repository root: the first parent folder that holds proto/voxgate/v1.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if st, err := os.Stat(filepath.Join(dir, "proto", "voxgate", "v1")); err == nil && st.IsDir() {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root (a folder with proto/voxgate/v1) not found above the test folder")
		}
		dir = parent
	}
}

// liveAddr returns the host:port of the running voxgate, failing the test when there is none.
func liveAddr(t testing.TB) string {
	t.Helper()
	if liveServerAddr == "" {
		t.Fatal(noServerHint)
	}
	return liveServerAddr
}

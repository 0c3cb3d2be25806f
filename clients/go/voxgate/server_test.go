package voxgate

// The live server the tests run against: $VOXGATE_ADDR if set, else one started here with
// `$VOXGATE_BIN serve --port 0 --ready-file F` (default VOXGATE_BIN: <repo>/.venv/bin/voxgate),
// started on first use and stopped with SIGTERM when the tests end.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var live struct {
	once    sync.Once
	addr    string
	err     error
	cmd     *exec.Cmd
	done    chan error
	tmp     string
	logPath string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if err := stopServer(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping voxgate:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
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

// liveAddr returns the host:port of a running voxgate, starting one on first use.
func liveAddr(t testing.TB) string {
	t.Helper()
	live.once.Do(func() {
		if a := os.Getenv("VOXGATE_ADDR"); a != "" {
			live.addr = a
			return
		}
		live.addr, live.err = startServer(repoRoot(t))
	})
	if live.err != nil {
		t.Fatalf("no live voxgate server: %v", live.err)
	}
	if live.cmd != nil && live.err == nil {
		select {
		case err := <-live.done:
			live.done <- err
			live.err = fmt.Errorf("voxgate exited during the tests (%v); log:\n%s", err, logTail())
			t.Fatal(live.err)
		default:
		}
	}
	return live.addr
}

func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil {
			return time.Duration(s * float64(time.Second))
		}
	}
	return def
}

func startServer(root string) (string, error) {
	bin := os.Getenv("VOXGATE_BIN")
	if bin == "" {
		bin = filepath.Join(root, ".venv", "bin", "voxgate")
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("voxgate server binary: %w (set VOXGATE_BIN or VOXGATE_ADDR)", err)
	}
	tmp, err := os.MkdirTemp("", "voxgate-go-test-")
	if err != nil {
		return "", err
	}
	live.tmp = tmp
	ready := filepath.Join(tmp, "ready.json")
	live.logPath = filepath.Join(tmp, "server.log")
	logf, err := os.Create(live.logPath)
	if err != nil {
		return "", err
	}
	defer logf.Close() // the child has its own copy

	cmd := exec.Command(bin, "serve", "--port", "0", "--ready-file", ready)
	cmd.Dir = root
	cmd.Stdout = logf
	cmd.Stderr = logf
	inOwnGroup(cmd)
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting %s: %w", bin, err)
	}
	live.cmd = cmd
	live.done = make(chan error, 1)
	go func() { live.done <- cmd.Wait() }()

	timeout := envDuration("VOXGATE_START_TIMEOUT", 180*time.Second)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-live.done:
			live.done <- err // for stopServer
			return "", fmt.Errorf("voxgate exited before it was ready (%v); log:\n%s", err, logTail())
		case <-time.After(200 * time.Millisecond):
		}
		data, err := os.ReadFile(ready)
		if err != nil {
			continue
		}
		var r struct {
			Address string `json:"address"`
			Port    int    `json:"port"`
		}
		if json.Unmarshal(data, &r) != nil || (r.Address == "" && r.Port == 0) {
			continue // partly written
		}
		if r.Address == "" {
			r.Address = fmt.Sprintf("127.0.0.1:%d", r.Port)
		}
		return r.Address, nil
	}
	return "", fmt.Errorf("voxgate not ready after %v; log:\n%s", timeout, logTail())
}

func logTail() string {
	data, _ := os.ReadFile(live.logPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// stopServer sends SIGTERM to a server the tests started and waits for it to exit (killing its
// process group after 30 s).
func stopServer() error {
	if live.cmd == nil {
		return nil
	}
	defer os.RemoveAll(live.tmp)
	select {
	case err := <-live.done: // already gone
		return fmt.Errorf("voxgate exited before the tests ended (%v); log:\n%s", err, logTail())
	default:
	}
	if err := terminate(live.cmd); err != nil {
		return err
	}
	select {
	case err := <-live.done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return err
		}
		return nil
	case <-time.After(envDuration("VOXGATE_STOP_TIMEOUT", 30*time.Second)):
		killGroup(live.cmd)
		<-live.done
		return fmt.Errorf("voxgate did not exit within the stop timeout after SIGTERM; killed")
	}
}

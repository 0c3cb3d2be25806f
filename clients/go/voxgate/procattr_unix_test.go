//go:build unix

package voxgate

import (
	"os/exec"
	"syscall"
)

// inOwnGroup starts the server in its own process group, so that whatever it started (the
// embedded Triton) can be killed with it if it does not stop on SIGTERM.
func inOwnGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

func terminate(cmd *exec.Cmd) error { return cmd.Process.Signal(syscall.SIGTERM) }

func killGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the server get SIGTERM if the benchmark itself dies, so no server is
// left running against the benchmark database.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

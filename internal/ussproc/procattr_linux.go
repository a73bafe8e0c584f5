package ussproc

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the server get SIGTERM if the tool that started it dies, so no
// server is left running.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

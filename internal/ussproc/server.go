// Package ussproc runs uss-server as a separate process for the tools that measure it from
// outside (the load benchmark, the attacks): start it on a free loopback port, wait for it to be
// ready, read its memory, stop or kill it.
package ussproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Server is a uss-server process under test, serving on a free loopback port.
type Server struct {
	cmd    *exec.Cmd
	Addr   string // host:port it serves on
	exited chan struct{}
	err    error // why it exited, once exited is closed
}

// Env is the environment of every uss-server run here: the caller's, less its USS_* settings
// (what is measured is the defaults), plus the database and extra.
func Env(databaseURL string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		// USS_PPROF_ADDR changes no behaviour and lets a profile be taken during a run.
		if !strings.HasPrefix(kv, "USS_") || strings.HasPrefix(kv, "USS_PPROF_ADDR=") {
			env = append(env, kv)
		}
	}
	env = append(env, "USS_DATABASE_URL="+databaseURL, "USS_LOG_LEVEL=warn")
	return append(env, extra...)
}

// CreateAPIKey runs `uss-server apikey create --account NAME`, which also creates and
// migrates the database, and returns the key (the last line of its output).
func CreateAPIKey(ctx context.Context, bin, databaseURL, account string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "apikey", "create", "--account", account)
	cmd.Env = Env(databaseURL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s apikey create: %w: %s", bin, err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	key := strings.TrimSpace(lines[len(lines)-1])
	if key == "" || strings.ContainsAny(key, " \t") {
		return "", fmt.Errorf("%s apikey create printed no key on its last line: %q", bin, out)
	}
	return key, nil
}

// Start runs `uss-server serve` on a free 127.0.0.1 port with the extra environment, its log
// appended to logPath, and waits until /readyz answers 200.
func Start(ctx context.Context, bin, databaseURL, logPath string, extraEnv ...string) (*Server, error) {
	addr, err := FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = Env(databaseURL, append(extraEnv, "USS_LISTEN_ADDR="+addr)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{cmd: cmd, Addr: addr, exited: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	if err := s.WaitReady(ctx, 60*time.Second); err != nil {
		_ = s.Stop() // it never became ready: why is in its log, not in how it stopped
		return nil, fmt.Errorf("%w (server log: %s)", err, logPath)
	}
	return s, nil
}

// FreeLoopbackAddr asks the kernel for a free port. Another process could take it before the
// server binds it; the server would then fail to start and say so.
func FreeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Pid is the process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// URL is the address of path on the server.
func (s *Server) URL(path string) string { return "http://" + s.Addr + path }

// Alive returns an error if the server has exited.
func (s *Server) Alive() error {
	select {
	case <-s.exited:
		if s.err == nil {
			return errors.New("uss-server exited")
		}
		return fmt.Errorf("uss-server exited: %w", s.err)
	default:
		return nil
	}
}

// WaitReady waits until /readyz answers 200, the process exits, or timeout passes.
func (s *Server) WaitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if err := s.Alive(); err != nil {
			return err
		}
		resp, err := client.Get(s.URL("/readyz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /readyz answered %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("uss-server not ready after %s (last: %w)", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop sends SIGTERM, lets the server drain, and kills it if it takes over 20 s.
func (s *Server) Stop() error {
	if err := s.Alive(); err != nil {
		return err
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return errors.New("uss-server did not stop within 20s of SIGTERM; killed")
	}
	if s.err != nil {
		return fmt.Errorf("uss-server stopped with %w", s.err)
	}
	return nil
}

// Kill sends SIGKILL and waits for the process to be gone.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Exited is closed once the process has exited; ExitErr then says how.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// ExitErr is how the process exited (nil: status 0), once Exited is closed.
func (s *Server) ExitErr() error { return s.err }

// Signal sends sig to the process.
func (s *Server) Signal(sig os.Signal) error { return s.cmd.Process.Signal(sig) }

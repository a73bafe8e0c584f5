package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A PgBouncer in transaction mode, in front of the test server, as teams run uss in production.
// It is started once per test process on a free loopback port and dies with the process.
//
// USS_TEST_PGBOUNCER=1 makes URL and EmptyURL hand out databases reached through it (`make
// test` runs the storage and decision suites once more that way); ThroughBouncer gives one test
// such a URL whatever the mode. Without a pgbouncer binary both fail the test with the reason:
// a run that needs PgBouncer never passes without it.

// BouncerEnv is the variable that routes every test database through PgBouncer.
const BouncerEnv = "USS_TEST_PGBOUNCER"

var (
	bouncerOnce sync.Once
	bouncerAddr atomic.Pointer[string] // host:port of the running PgBouncer, once started
	bouncerErr  error
)

// ThroughBouncer returns databaseURL (a database of the test server) reached through the
// PgBouncer, with the query mode transaction pooling needs.
func ThroughBouncer(t testing.TB, databaseURL string) string {
	t.Helper()
	bouncerOnce.Do(func() {
		var addr string
		if addr, bouncerErr = startBouncer(); bouncerErr == nil {
			bouncerAddr.Store(&addr)
		}
	})
	if bouncerErr != nil {
		t.Fatalf("pgtest: %v", bouncerErr)
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatalf("pgtest: %s is not a URL: %v", databaseURL, err)
	}
	u.Host = *bouncerAddr.Load()
	q := u.Query()
	// PgBouncer 1.18 keeps no prepared statement across transactions: pgx must not cache them.
	q.Set("default_query_exec_mode", "exec")
	u.RawQuery = q.Encode()
	return u.String()
}

// Direct returns the URL of the same database on the test server itself: the identity for a
// direct URL, the server's address for one through the PgBouncer.
func Direct(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	addr := bouncerAddr.Load()
	if err != nil || addr == nil || u.Host != *addr {
		return databaseURL
	}
	server, err := url.Parse(serverURL)
	if err != nil {
		return databaseURL
	}
	u.Host = server.Host
	q := u.Query()
	q.Del("default_query_exec_mode")
	u.RawQuery = q.Encode()
	return u.String()
}

func bouncerMode() bool { return os.Getenv(BouncerEnv) != "" }

// startBouncer runs pgbouncer in front of the test server until this process exits.
func startBouncer() (string, error) {
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
				break
			}
		}
	}
	if err != nil {
		return "", fmt.Errorf("PGBOUNCER IS NOT INSTALLED: the PgBouncer tests cannot run and are failed, not skipped. " +
			"Install it (Debian: apt-get install -y pgbouncer; .ci/run does this) and run again")
	}
	setupOnce.Do(func() { setupErr = setup(context.Background()) })
	if setupErr != nil {
		return "", setupErr
	}
	var lastErr error
	for range 3 { // the free port may be taken between choosing and binding it
		var addr string
		if addr, lastErr = runBouncer(bin); lastErr == nil {
			return addr, nil
		}
	}
	return "", lastErr
}

func runBouncer(bin string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "uss-pgbouncer-")
	if err != nil {
		return "", err
	}
	// pgbouncer refuses to run as root; as root it is started as the postgres user, which must
	// read its files.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	target := fmt.Sprintf("host=%s port=%d user=%s", admin.Host, admin.Port, admin.User)
	if admin.Password != "" {
		target += " password=" + admin.Password
	}
	ini := fmt.Sprintf(`[databases]
* = %s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = any
auth_file = %s
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 40
max_db_connections = 40
server_login_retry = 1
ignore_startup_parameters = extra_float_digits
logfile = %s
`, target, port, filepath.Join(dir, "users.txt"), filepath.Join(dir, "pgbouncer.log"))
	for name, content := range map[string]string{"pgbouncer.ini": ini, "users.txt": "", "pgbouncer.log": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o666); err != nil {
			return "", err
		}
		_ = os.Chmod(filepath.Join(dir, name), 0o666)
	}
	cmd := exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	cmd.Dir = dir
	// Killed when this test process dies, however it dies. The parent-death signal is cleared
	// by a change of user, so pgbouncer is started as its user rather than asked to switch.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", fmt.Errorf("pgbouncer refuses to run as root and there is no postgres user to run it as: %w", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start pgbouncer: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			if err == nil {
				err = errors.New("exit status 0")
			}
			return "", fmt.Errorf("pgbouncer exited at start (%w): %s", err, strings.TrimSpace(string(log)))
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			_ = os.RemoveAll(dir) // read at start; the open log file lives on
			return addr, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return "", fmt.Errorf("pgbouncer did not listen on %s within 10s", addr)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

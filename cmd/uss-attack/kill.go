package main

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// verifyWrites stops the load and checks every acknowledged write against the database.
func verifyWrites(ctx context.Context, r *result, w *writers, dbURL string) {
	w.stop()
	acked, lost, err := w.verify(ctx, dbURL)
	if err != nil {
		r.check(false, "cannot read the database to verify: %v", err)
		return
	}
	r.figure("acknowledged writes: %d; lost or wrong: %d", acked, lost)
	r.figure("answers: %s", w.statusSummary())
	r.check(acked > 0, "no write was acknowledged")
	r.check(lost == 0, "%d acknowledged writes are not in the database", lost)
	r.check(w.fiveHundreds() == 0, "%d answers were 5xx other than 503", w.fiveHundreds())
}

// pgkill: PostgreSQL dies as in a crash (postmaster and backends SIGKILLed) under write load and
// is started again at once; uss keeps running and must serve again by itself.
func attackKillPostgres(ctx context.Context, e *env) (r result) {
	dbURL, key, srv, err := e.setup(ctx, "pgkill")
	if err != nil {
		r.check(false, "setup: %v", err)
		return r
	}
	defer srv.Stop()
	w := startWriters(e.opts.writers, srv.URL(""), key)
	time.Sleep(e.opts.load)
	before := w.ackedCount()

	if err := e.cluster.kill9(); err != nil {
		w.stop()
		r.check(false, "kill -9 PostgreSQL: %v", err)
		return r
	}
	killed := time.Now() // every PostgreSQL process is gone
	if err := e.cluster.start(ctx); err != nil {
		w.stop()
		r.check(false, "restart PostgreSQL: %v", err)
		return r
	}
	restarted := time.Since(killed)
	first, ok := w.waitAckAfter(killed.Add(restarted), 60*time.Second)
	r.check(ok, "no write acknowledged within 60 s of PostgreSQL's restart")
	time.Sleep(e.opts.load)
	r.check(srv.Alive() == nil, "uss-server exited: %v", srv.Alive())
	verifyWrites(ctx, &r, w, dbURL)
	r.figure("acknowledged before the kill: %d", before)
	r.figure("PostgreSQL back (crash recovery) %s after the kill", seconds(restarted))
	if ok {
		r.figure("first acknowledged write %s after the kill, %s after PostgreSQL was back; uss not restarted (pid %d)",
			seconds(first.Sub(killed)), seconds(first.Sub(killed)-restarted), srv.Pid())
	}
	r.figure("panics logged: %d", e.panics("pgkill"))
	r.check(e.panics("pgkill") == 0, "uss-server logged a panic")
	return r
}

// usskill: uss dies (SIGKILL) under write load and is started again; every write it had
// acknowledged is committed.
func attackKillUSS(ctx context.Context, e *env) (r result) {
	dbURL, key, srv, err := e.setup(ctx, "usskill")
	if err != nil {
		r.check(false, "setup: %v", err)
		return r
	}
	w := startWriters(e.opts.writers, srv.URL(""), key)
	time.Sleep(e.opts.load)
	srv.Kill()
	killed := time.Now() // the process is gone
	acked := w.ackedCount()
	restarted, err := e.startServer(ctx, "usskill", dbURL)
	if err != nil {
		w.stop()
		r.check(false, "start uss-server again: %v", err)
		return r
	}
	defer restarted.Stop()
	ready := time.Since(killed)
	w.moveTo(restarted.URL(""))
	first, ok := w.waitAckAfter(killed, 30*time.Second)
	r.check(ok, "no write acknowledged within 30 s of the restart")
	time.Sleep(e.opts.load)
	verifyWrites(ctx, &r, w, dbURL)
	r.figure("acknowledged before the kill: %d", acked)
	r.figure("new uss-server ready %s after the kill", seconds(ready))
	if ok {
		r.figure("first acknowledged write %s after the kill", seconds(first.Sub(killed)))
	}
	return r
}

// sigterm: uss is asked to stop under write load; it drains, exits 0, and every write it
// acknowledged is committed.
func attackSIGTERM(ctx context.Context, e *env) (r result) {
	dbURL, key, srv, err := e.setup(ctx, "sigterm")
	if err != nil {
		r.check(false, "setup: %v", err)
		return r
	}
	w := startWriters(e.opts.writers, srv.URL(""), key)
	time.Sleep(e.opts.load)
	asked := time.Now()
	if err := srv.Signal(syscall.SIGTERM); err != nil {
		r.check(false, "SIGTERM: %v", err)
	}
	select {
	case <-srv.Exited():
	case <-time.After(60 * time.Second):
		srv.Kill()
		r.check(false, "uss-server still running 60 s after SIGTERM")
	}
	stopped := time.Since(asked)
	r.check(srv.ExitErr() == nil, "uss-server exited with %v after SIGTERM", srv.ExitErr())
	verifyWrites(ctx, &r, w, dbURL)
	r.figure("stopped %s after SIGTERM, exit %s", seconds(stopped), exitStatus(srv.ExitErr()))
	r.figure("panics logged: %d", e.panics("sigterm"))
	r.check(e.panics("sigterm") == 0, "uss-server logged a panic")
	return r
}

func exitStatus(err error) string {
	if err == nil {
		return "0"
	}
	return fmt.Sprint(err)
}

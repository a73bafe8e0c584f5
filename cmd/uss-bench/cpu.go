package main

import (
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// On this 2-core machine the server, PostgreSQL and the load generator share the CPUs, so
// each run also says where the CPU went: per request, it shows whether uss makes PostgreSQL
// work harder than pgbench does, how much the client took, and how much went to anything
// else (another job, or another database's sessions on the same PostgreSQL).

// clockTick is USER_HZ, the unit of /proc times: 100 on every Linux this runs on.
const clockTick = 10 * time.Millisecond

// cpuUse is the CPU time (user + system) a run spent, by party.
type cpuUse struct {
	server   time.Duration // uss-server
	postgres time.Duration // the benchmark database's sessions and PostgreSQL's own processes
	client   time.Duration // the HTTP load generator (this process), or pgbench
	machine  time.Duration // every CPU of the machine, whatever ran
	wall     time.Duration
}

func (u cpuUse) perRequest(d time.Duration, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(d)/float64(n)/float64(time.Microsecond))
}

// cores is how many CPUs d kept busy on average.
func (u cpuUse) cores(d time.Duration) string {
	if u.wall <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(d)/float64(u.wall))
}

// other is the busy time charged to none of the three: other processes, other databases'
// sessions, kernel work such as loopback networking in interrupts.
func (u cpuUse) other() time.Duration {
	return max(0, u.machine-u.server-u.postgres-u.client)
}

// cpuMeter measures runs.
type cpuMeter struct {
	serverPid int
	database  string // the benchmark database: its sessions are the benchmark's
}

// cpuRun tracks one run. PostgreSQL processes are sampled every 100 ms while it lasts, since
// a session's CPU time vanishes from /proc when it exits (pgbench's sessions end with it);
// what a session spends after its last sample is lost, at most 100 ms of it.
type cpuRun struct {
	m          cpuMeter
	began      time.Time
	server0    time.Duration
	client0    time.Duration
	machine0   time.Duration
	stop, done chan struct{}

	mu    sync.Mutex
	procs map[int]*pgProc // PostgreSQL processes seen, by pid
	other map[int]bool    // pids known not to be PostgreSQL
}

type pgProc struct {
	ours        bool  // a session of the benchmark database, or PostgreSQL's own process
	first, last int64 // CPU ticks when first and last seen
}

// start begins measuring a run.
func (m cpuMeter) start() *cpuRun {
	r := &cpuRun{m: m, began: time.Now(), stop: make(chan struct{}), done: make(chan struct{}),
		procs: map[int]*pgProc{}, other: map[int]bool{}}
	r.server0, r.client0, r.machine0 = m.server(), selfCPU(), machineCPU()
	r.samplePostgres(true)
	go func() {
		defer close(r.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				r.samplePostgres(false)
			}
		}
	}()
	return r
}

// end stops measuring and returns what the run spent.
func (r *cpuRun) end() cpuUse {
	close(r.stop)
	<-r.done
	r.samplePostgres(false)
	u := cpuUse{
		wall:    time.Since(r.began),
		server:  r.m.server() - r.server0,
		client:  selfCPU() - r.client0,
		machine: machineCPU() - r.machine0,
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.procs {
		if p.ours {
			u.postgres += time.Duration(p.last-p.first) * clockTick
		}
	}
	return u
}

// samplePostgres records the CPU time of every PostgreSQL process. A process first seen after
// the start was born during the run, so all its time counts.
func (r *cpuRun) samplePostgres(initial bool) {
	procs, _ := procfs.AllProcs()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, proc := range procs {
		pid := proc.PID
		if r.other[pid] {
			continue
		}
		st, err := proc.Stat()
		if err != nil {
			continue
		}
		ticks := int64(st.UTime + st.STime)
		if p, ok := r.procs[pid]; ok {
			p.last = ticks
			continue
		}
		if st.Comm != "postgres" {
			r.other[pid] = true
			continue
		}
		title, _ := proc.CmdLine()
		p := &pgProc{ours: r.m.isOurs(strings.Join(title, " ")), last: ticks}
		if initial {
			p.first = ticks
		}
		r.procs[pid] = p
	}
}

// isOurs tells from a PostgreSQL process title whether its CPU is the benchmark's: a
// session of the benchmark database ("postgres: 15/main: postgres uss_bench 127.0.0.1(5) idle"),
// or a process that serves every database (the postmaster, checkpointer, WAL writer, …).
// Sessions and autovacuum workers of other databases are not.
func (m cpuMeter) isOurs(title string) bool {
	title = strings.TrimRight(strings.ReplaceAll(title, "\x00", " "), " ")
	fields := strings.Fields(title)
	for _, f := range fields {
		if f == m.database {
			return true
		}
	}
	if len(fields) == 0 || !strings.HasPrefix(title, "postgres:") {
		return true // the postmaster keeps its command line
	}
	for _, shared := range []string{"checkpointer", "background writer", "walwriter", "autovacuum launcher",
		"logical replication launcher", "stats collector", "archiver", "parallel worker"} {
		if strings.Contains(title, shared) {
			return true
		}
	}
	return false
}

func (m cpuMeter) server() time.Duration { return procCPU(m.serverPid) }

// procCPU is the CPU time (user + system) process pid has used, 0 once it is gone.
func procCPU(pid int) time.Duration {
	st, err := procStat(pid)
	if err != nil {
		return 0
	}
	return time.Duration(st.UTime+st.STime) * clockTick
}

func procStat(pid int) (procfs.ProcStat, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return procfs.ProcStat{}, err
	}
	return p.Stat()
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU is the busy time of all CPUs since boot: everything but idle and iowait.
func machineCPU() time.Duration {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return 0
	}
	st, err := fs.Stat()
	if err != nil {
		return 0
	}
	c := st.CPUTotal
	busy := c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ + c.Steal
	return time.Duration(busy * float64(time.Second))
}

// busyCPUs measures how many CPUs are busy on average over d.
func busyCPUs(d time.Duration) float64 {
	before := machineCPU()
	time.Sleep(d)
	return float64(machineCPU()-before) / float64(d)
}

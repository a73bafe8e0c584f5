package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// On this 2-core machine the server, PostgreSQL and the load generator share the CPUs, so
// each run also says where the CPU went: per request, it shows whether uss makes PostgreSQL
// work harder than pgbench does, and how much the client took.

// cpuTimes is cumulative CPU time (user + system) of the three parties.
type cpuTimes struct {
	server   time.Duration // uss-server
	postgres time.Duration // every postgres process, including backends that exited
	client   time.Duration // this process (the HTTP load generator), or pgbench
	machine  time.Duration // every CPU of the machine: what is not the three is interference
}

// cpuUse is what a run spent.
type cpuUse struct {
	cpuTimes
	wall time.Duration
}

func (u cpuUse) perRequest(d time.Duration, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(d)/float64(n)/float64(time.Microsecond))
}

// cores is how many CPUs were busy on average, all processes together.
func (u cpuUse) cores(d time.Duration) string {
	if u.wall <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(d)/float64(u.wall))
}

// other is the CPU time of processes that are none of the three (another job on the machine
// makes the figures noisy, and this says so).
func (u cpuUse) other() time.Duration {
	return max(0, u.machine-u.server-u.postgres-u.client)
}

// cpuMeter samples cpuTimes.
type cpuMeter struct {
	serverPid int
	clockTick time.Duration
}

func newCPUMeter(serverPid int) cpuMeter {
	// USER_HZ is 100 on every Linux this runs on; /proc reports times in its ticks.
	return cpuMeter{serverPid: serverPid, clockTick: 10 * time.Millisecond}
}

func (m cpuMeter) sample() cpuTimes {
	var t cpuTimes
	if st, err := readProcStat(m.serverPid); err == nil {
		t.server = m.ticks(st.utime + st.stime)
	}
	t.postgres = m.postgres()
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		t.client = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	t.machine = m.machine()
	return t
}

// since returns what was spent from start to now.
func (m cpuMeter) since(start cpuTimes, began time.Time) cpuUse {
	now := m.sample()
	return cpuUse{wall: time.Since(began), cpuTimes: cpuTimes{
		server:   now.server - start.server,
		postgres: now.postgres - start.postgres,
		client:   now.client - start.client,
		machine:  now.machine - start.machine,
	}}
}

// machine reads the busy time of all CPUs from the first line of /proc/stat:
// "cpu user nice system idle iowait irq softirq steal …".
func (m cpuMeter) machine() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(string(v), 10, 64)
		busy += n
	}
	return m.ticks(busy)
}

func (m cpuMeter) ticks(n int64) time.Duration { return time.Duration(n) * m.clockTick }

// postgres sums the CPU time of live postgres processes and, through the postmaster's
// children times, of the backends that exited (pgbench's connections close when it ends).
func (m cpuMeter) postgres() time.Duration {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var total int64
	for _, dir := range dirs {
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil || st.comm != "postgres" {
			continue
		}
		total += st.utime + st.stime
		if st.ppid == 1 || !isPostgres(st.ppid) { // the postmaster: add its reaped children
			total += st.cutime + st.cstime
		}
	}
	return m.ticks(total)
}

func isPostgres(pid int) bool {
	st, err := readProcStat(pid)
	return err == nil && st.comm == "postgres"
}

type procStat struct {
	comm                         string
	ppid                         int
	utime, stime, cutime, cstime int64
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(b)
}

// parseProcStat reads /proc/<pid>/stat: "pid (comm) state ppid … utime stime cutime cstime …"
// where comm may itself hold spaces and parentheses.
func parseProcStat(b []byte) (procStat, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("malformed stat %q", b)
	}
	f := bytes.Fields(b[end+1:])
	// f[0] is the state (field 3); utime is field 14, so f[11].
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("short stat %q", b)
	}
	st := procStat{comm: string(b[open+1 : end])}
	var err error
	num := func(s []byte) int64 {
		n, e := strconv.ParseInt(string(s), 10, 64)
		if e != nil && err == nil {
			err = e
		}
		return n
	}
	st.ppid = int(num(f[1]))
	st.utime, st.stime, st.cutime, st.cstime = num(f[11]), num(f[12]), num(f[13]), num(f[14])
	return st, err
}

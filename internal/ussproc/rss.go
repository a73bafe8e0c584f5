package ussproc

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// RSSSampler watches the server's resident memory from /proc/<pid>/status while it runs:
// VmRSS sampled every interval (the peak under load) and VmHWM, the kernel's own high-water
// mark, which catches a peak between two samples.
type RSSSampler struct {
	pid  int
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	peakRSS  int64 // bytes
	hwm      int64 // bytes
	lastErr  error
	nSamples int
}

// StartRSSSampler samples pid's memory every interval until Stop.
func StartRSSSampler(pid int, interval time.Duration) *RSSSampler {
	s := &RSSSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *RSSSampler) sample() {
	rss, hwm, err := ReadMemory(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.lastErr = err
		return
	}
	s.nSamples++
	s.peakRSS = max(s.peakRSS, rss)
	s.hwm = max(s.hwm, hwm)
}

// Stop ends sampling (after one last sample) and returns the peaks in bytes.
func (s *RSSSampler) Stop() (peakRSS, hwm int64, err error) {
	close(s.stop)
	<-s.done
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nSamples == 0 {
		return 0, 0, fmt.Errorf("no memory sample of pid %d: %w", s.pid, s.lastErr)
	}
	return s.peakRSS, s.hwm, nil
}

// Peak returns the peaks so far.
func (s *RSSSampler) Peak() (peakRSS, hwm int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakRSS, s.hwm
}

// ReadMemory returns pid's resident memory and its high-water mark, in bytes.
func ReadMemory(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseStatus(b)
}

// parseStatus reads VmRSS and VmHWM (in kB) from a /proc/<pid>/status file.
func parseStatus(b []byte) (rss, hwm int64, err error) {
	var haveRSS, haveHWM bool
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, value, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(name) {
		case "VmRSS":
			dst, haveRSS = &rss, true
		case "VmHWM":
			dst, haveHWM = &hwm, true
		default:
			continue
		}
		fields := bytes.Fields(value)
		if len(fields) != 2 || string(fields[1]) != "kB" {
			return 0, 0, fmt.Errorf("unexpected %s line %q", name, sc.Text())
		}
		kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", name, err)
		}
		*dst = kb << 10
	}
	if !haveRSS || !haveHWM {
		return 0, 0, fmt.Errorf("VmRSS or VmHWM missing")
	}
	return rss, hwm, nil
}

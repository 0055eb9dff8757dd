package cluster

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// What a test reads of a process from /proc (Linux): its CPU time, its
// memory and its open file descriptors. The load benchmark and the soak
// share them.

// CPUTicks is the CPU time (user and system) pid has used, in clock ticks.
func CPUTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("CPU time of pid %d: %w", pid, err)
	}
	return ParseCPUTicks(string(b))
}

// ParseCPUTicks returns utime+stime of a /proc/<pid>/stat line. The
// command name (2nd field) is in parentheses and may hold spaces and
// parentheses itself: the fields are counted after its last ')'.
func ParseCPUTicks(stat string) (uint64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("parse /proc stat: no command name")
	}
	// After ')': state (field 3) … utime (14), stime (15).
	fields := strings.Fields(stat[i+1:])
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, fmt.Errorf("parse /proc stat: %d fields after the command name, want more than %d", len(fields), stime)
	}
	u, err := strconv.ParseUint(fields[utime], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse /proc stat utime: %w", err)
	}
	s, err := strconv.ParseUint(fields[stime], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse /proc stat stime: %w", err)
	}
	return u + s, nil
}

// StatusMiB reads a memory field ("VmHWM", "VmRSS") of /proc/<pid>/status.
func StatusMiB(pid int, field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("memory of pid %d: %w", pid, err)
	}
	return ParseStatusMiB(string(b), field)
}

// ParseStatusMiB finds "field:   1234 kB" in a /proc status text.
func ParseStatusMiB(status, field string) (float64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, field+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("parse /proc status: %s is %q, want a number of kB", field, strings.TrimSpace(rest))
		}
		kb, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc status %s: %w", field, err)
		}
		return kb / 1024, nil
	}
	return 0, fmt.Errorf("parse /proc status: no %s", field)
}

// OpenFDs counts the open file descriptors of pid.
func OpenFDs(pid int) (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, fmt.Errorf("file descriptors of pid %d: %w", pid, err)
	}
	return len(entries), nil
}

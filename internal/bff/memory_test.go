package bff

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/acme/bff-gateway/internal/bff/config"
)

// restoreRuntime puts the collector's settings back as they were.
func restoreRuntime(t *testing.T) {
	gc := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(limit)
	})
}

func TestTuneMemoryAppliesTheConfiguration(t *testing.T) {
	restoreRuntime(t)
	none := func(string) string { return "" }
	gc, limit := tuneMemory(config.Memory{GCPercent: 400, LimitBytes: 40 << 20}, none)
	if gc != 400 || limit != 40<<20 {
		t.Errorf("in force: GC %d%%, limit %d; want 400%% and 40 MiB", gc, limit)
	}
	if _, limit := tuneMemory(config.Memory{GCPercent: 100}, none); limit != math.MaxInt64 {
		t.Errorf("limit_bytes 0: limit %d, want none", limit)
	}
}

func TestTuneMemoryLeavesWhatTheEnvironmentSet(t *testing.T) {
	restoreRuntime(t)
	debug.SetGCPercent(150)
	debug.SetMemoryLimit(99 << 20)
	env := map[string]string{"GOGC": "150", "GOMEMLIMIT": "99MiB"}
	gc, limit := tuneMemory(config.Memory{GCPercent: 400, LimitBytes: 40 << 20}, func(k string) string { return env[k] })
	if gc != 150 || limit != 99<<20 {
		t.Errorf("in force: GC %d%%, limit %d; want the environment's 150%% and 99 MiB", gc, limit)
	}
}

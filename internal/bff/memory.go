package bff

import (
	"math"
	"runtime/debug"

	"github.com/acme/bff-gateway/internal/bff/config"
)

// tuneMemory applies m to the Go runtime, each setting unless the
// environment set it already (GOGC, GOMEMLIMIT: the runtime read those at
// start and they win), and returns the settings in force: the GC percent
// (-1 when off) and the soft memory limit (math.MaxInt64 when none).
func tuneMemory(m config.Memory, getenv func(string) string) (gcPercent int, limit int64) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(m.GCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		l := m.LimitBytes
		if l == 0 {
			l = math.MaxInt64
		}
		debug.SetMemoryLimit(l)
	}
	gcPercent = debug.SetGCPercent(-1)
	debug.SetGCPercent(gcPercent)
	return gcPercent, debug.SetMemoryLimit(-1)
}

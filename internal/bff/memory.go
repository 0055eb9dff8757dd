package bff

import (
	"math"
	"runtime/debug"
	"runtime/metrics"

	"github.com/acme/bff-gateway/internal/bff/config"
)

// tuneMemory applies m to the Go runtime, each setting unless the
// environment set it already (GOGC, GOMEMLIMIT: the runtime read those at
// start and they win), and returns the settings in force, as the runtime
// reports them: the GC percent and the soft memory limit (math.MaxInt64
// when none).
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
	in := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(in)
	return int(in[0].Value.Uint64()), int64(in[1].Value.Uint64())
}

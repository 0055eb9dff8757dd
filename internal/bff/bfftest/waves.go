package bfftest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/bff/observe"
	"github.com/acme/bff-gateway/internal/testutil"
)

// Upstream is what one operation cost upstream, as the BFF recorded it
// (bff_operation_upstream_requests and _waves) and as the services saw it
// (the Counter).
type Upstream struct {
	Calls, Waves float64
	// Served are the requests the services received, "GET user /v1/users".
	Served []string
}

// MeasureUpstream sends op with vars through c and returns its calls and
// waves as the BFF's metrics recorded them. It fails the test unless the
// metrics counted the operation once and the calls are those the services
// received. Tests that measure must not share the Env with others running
// at the same time.
func MeasureUpstream(t *testing.T, env *Env, c *Client, client, op string, vars map[string]any) Upstream {
	t.Helper()
	return measureUpstream(t, env, client, op, func() Response { return c.Op(t, op, vars) })
}

// MeasureQuery is MeasureUpstream for a document that is not one of the
// client's: the metrics record it as observe.OtherOperation.
func MeasureQuery(t *testing.T, env *Env, c *Client, client, query string, vars map[string]any) Upstream {
	t.Helper()
	return measureUpstream(t, env, client, observe.OtherOperation, func() Response { return c.Query(t, query, vars) })
}

func measureUpstream(t *testing.T, env *Env, client, label string, send func() Response) Upstream {
	t.Helper()
	series := `{client="` + client + `",graphql_operation_name="` + label + `"}`
	before := testutil.Metrics(t, env.AdminURL)
	env.Counter.Reset()
	if r := send(); r.Status != 200 || len(r.Errors) > 0 {
		t.Fatalf("%s: %d %s", label, r.Status, r.Raw)
	}
	after := testutil.Metrics(t, env.AdminURL)
	delta := func(name string) float64 {
		return sample(after, name+series) - sample(before, name+series)
	}
	if n := delta("bff_operation_upstream_requests_count"); n != 1 {
		t.Fatalf("%s: the metrics recorded %v operations, want 1", label, n)
	}
	u := Upstream{Calls: delta("bff_operation_upstream_requests_sum"), Waves: delta("bff_operation_upstream_waves_sum"), Served: env.Counter.Requests()}
	if u.Calls != float64(len(u.Served)) {
		t.Errorf("%s: %v upstream calls recorded, the services saw %d: %v", label, u.Calls, len(u.Served), u.Served)
	}
	return u
}

// sample returns the value of the sample named name (labels included, as
// the text exposition writes them), 0 when there is none yet.
func sample(text, name string) float64 {
	for line := range strings.SplitSeq(text, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return 0
}

// FewestWaves measures op up to tries times (MeasureUpstream) and returns
// the measure with the fewest waves, stopping at one of at most want.
// Waves are counted from time (a call started after another ended is in
// the next wave), so a goroutine scheduled late on a busy machine can
// only add waves, never hide one: the fewest seen is the closest to what
// the operation needs.
func FewestWaves(t *testing.T, env *Env, c *Client, client, op string, vars map[string]any, want float64, tries int) Upstream {
	t.Helper()
	best := MeasureUpstream(t, env, c, client, op, vars)
	for i := 1; i < tries && best.Waves > want; i++ {
		if u := MeasureUpstream(t, env, c, client, op, vars); u.Waves < best.Waves {
			best = u
		}
	}
	return best
}

package app_test

import (
	"testing"

	"github.com/acme/bff-gateway/internal/bff/bfftest"
)

// TestHomeIsOneUpstreamWave: with the product cache warm, Home's user,
// orders and featured list all start together (one round of upstream
// calls), and the BFF's metrics record its calls as the services saw
// them.
func TestHomeIsOneUpstreamWave(t *testing.T) {
	t.Parallel()
	env := startMobile(t, nil)
	ada := signIn(t, env, adaEmail, adaPassword)
	ada.Op(t, "Home", nil) // the product cache warms
	u := bfftest.FewestWaves(t, env, ada, "mobile", "Home", nil, 1, 5)
	t.Logf("Home: %v calls %v, %v waves", u.Calls, u.Served, u.Waves)
	if u.Waves != 1 || u.Calls != 2 {
		t.Errorf("Home: %v calls in %v waves, want 2 in 1: %v", u.Calls, u.Waves, u.Served)
	}
}

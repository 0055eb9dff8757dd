package ratelimit

import (
	"time"

	"github.com/acme/bff-gateway/internal/fakeclock"
)

// fakeClock is the shared manually advanced test clock.
type fakeClock = fakeclock.Clock

func newFakeClock() *fakeClock { return fakeclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) }

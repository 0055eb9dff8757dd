package fakeclock

import (
	"testing"
	"time"
)

func TestClockMovesOnlyWhenAdvanced(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := New(start)
	first, second := c.Now(), c.Now()
	if !first.Equal(start) || !second.Equal(start) {
		t.Fatalf("the clock moved by itself: read %v then %v, want %v both times", first, second, start)
	}
	c.Advance(90 * time.Second)
	if got := c.Now().Sub(start); got != 90*time.Second {
		t.Errorf("advanced %v, want 90s", got)
	}
}

package redisstore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: a
// client whose Redis went away and came back must not leak its workers.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

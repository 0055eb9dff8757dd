package ratelimit

import (
	"context"
	"errors"
	"testing"
)

type brokenStore struct{ err error }

func (b brokenStore) Take(context.Context, string, int, Limit) (Decision, error) {
	return Decision{}, b.err
}

func TestOnFailure(t *testing.T) {
	t.Parallel()
	down := errors.New("redis down")
	l := Limit{Rate: 1, Burst: 5}
	for _, tt := range []struct {
		name    string
		failure Failure
		allowed bool
	}{{"open", FailOpen, true}, {"closed", FailClosed, false}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var told []error
			s := OnFailure(brokenStore{down}, tt.failure, func(_ context.Context, err error) { told = append(told, err) })
			d, err := s.Take(t.Context(), "user:a", 1, l)
			if err != nil {
				t.Fatalf("Take: %v, want a decision", err)
			}
			if d.Allowed != tt.allowed || d.Limit != l.Burst {
				t.Errorf("decision %+v, want allowed %v with limit %d", d, tt.allowed, l.Burst)
			}
			if !tt.allowed && d.RetryAfterSeconds() != 1 {
				t.Errorf("a refusal for a failed store: Retry-After %d s, want 1", d.RetryAfterSeconds())
			}
			if len(told) != 1 || !errors.Is(told[0], down) {
				t.Errorf("failed was told %v, want the store's error once", told)
			}
		})
	}
	// A working store decides as ever, and nobody is told anything.
	s := OnFailure(NewMemoryStore(10, nil), FailClosed, func(context.Context, error) { t.Error("told of a failure") })
	for i := range 6 {
		d, err := s.Take(t.Context(), "k", 1, l)
		if err != nil || d.Allowed != (i < 5) {
			t.Errorf("take %d: %+v %v", i, d, err)
		}
	}
}

package loader_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/bff/loader"
)

func TestOnceReadsAKeyOnceAndSharesItsResult(t *testing.T) {
	t.Parallel()
	var o loader.Once[string, int]
	var reads atomic.Int32
	release := make(chan struct{})
	read := func() (int, error) {
		reads.Add(1)
		<-release
		return 7, nil
	}
	var wg sync.WaitGroup
	got := make([]int, 20)
	for i := range got {
		wait := o.Start("a", read)
		wg.Go(func() { got[i], _ = wait() })
	}
	close(release)
	wg.Wait()
	if n := reads.Load(); n != 1 {
		t.Errorf("%d reads of one key, want 1", n)
	}
	for i, v := range got {
		if v != 7 {
			t.Errorf("waiter %d got %d, want 7", i, v)
		}
	}
}

func TestOnceKeepsKeysApartAndErrors(t *testing.T) {
	t.Parallel()
	var o loader.Once[string, int]
	errDown := errors.New("down")
	a := o.Start("a", func() (int, error) { return 1, nil })
	b := o.Start("b", func() (int, error) { return 0, errDown })
	if v, err := a(); v != 1 || err != nil {
		t.Errorf("a: %d, %v", v, err)
	}
	if _, err := b(); !errors.Is(err, errDown) {
		t.Errorf("b: %v, want its own error", err)
	}
	// A later Start of b waits for the same read: its error, not a new read.
	if _, err := o.Start("b", func() (int, error) { return 2, nil })(); !errors.Is(err, errDown) {
		t.Errorf("b again: %v, want the first read's error", err)
	}
}

func TestOnceDoReadsInTheCallerAndSharesWithStartAndDo(t *testing.T) {
	t.Parallel()
	var o loader.Once[string, int]
	var reads atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	read := func() (int, error) {
		reads.Add(1)
		close(entered)
		<-release
		return 7, nil
	}
	var wg sync.WaitGroup
	var first int
	wg.Go(func() { first, _ = o.Do("a", read) })
	<-entered
	// The read runs: every other Do and Start of the key waits for it.
	got := make([]int, 10)
	for i := range got {
		if i%2 == 0 {
			wg.Go(func() { got[i], _ = o.Do("a", read) })
		} else {
			wait := o.Start("a", read)
			wg.Go(func() { got[i], _ = wait() })
		}
	}
	close(release)
	wg.Wait()
	if n := reads.Load(); n != 1 || first != 7 {
		t.Errorf("%d reads, the first Do got %d; want 1 read of 7", n, first)
	}
	for i, v := range got {
		if v != 7 {
			t.Errorf("waiter %d got %d, want 7", i, v)
		}
	}
	// A Do after a Start waits for the Start's read.
	started := o.Start("b", func() (int, error) { return 2, nil })
	if v, err := o.Do("b", func() (int, error) { return 3, nil }); v != 2 || err != nil {
		t.Errorf("Do after Start: %d, %v; want the Start's 2", v, err)
	}
	if v, _ := started(); v != 2 {
		t.Errorf("Start: %d", v)
	}
}

// TestOnceDoPanicsInTheCallerAndFailsTheWaiters: a read that panics under
// Do panics in Do's caller (the resolver's recovery answers it), and what
// waits for the same key gets an Internal error, not a zero value.
func TestOnceDoPanicsInTheCallerAndFailsTheWaiters(t *testing.T) {
	t.Parallel()
	var o loader.Once[string, int]
	recovered := func() (p any) {
		defer func() { p = recover() }()
		_, _ = o.Do("a", func() (int, error) { panic("boom") })
		return nil
	}()
	if recovered != "boom" {
		t.Fatalf("Do's caller recovered %v, want the read's panic", recovered)
	}
	if v, err := o.Do("a", func() (int, error) { return 1, nil }); v != 0 || !apperr.Is(err, apperr.Internal) {
		t.Errorf("after the panic: %d, %v; want an Internal error", v, err)
	}
}

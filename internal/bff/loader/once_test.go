package loader_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

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

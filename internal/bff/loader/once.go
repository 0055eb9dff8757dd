package loader

import (
	"sync"

	"github.com/acme/bff-gateway/internal/apperr"
)

// Once shares, within one request, a read that two resolvers need: the
// first Start or Do of a key runs the read, and every Start or Do of the
// same key waits for that one read. A resolver that knows early what a
// later one will need starts it first (Start: at once, in its own
// goroutine), so that the later one does not wait for the earlier one's
// answer to begin (one upstream wave instead of two). Resolvers that run
// side by side and need the same read call Do: whichever comes first reads
// in its own goroutine, the other waits.
//
// Once lives in the request's Loaders: nothing read for one request is
// ever shared with another.
type Once[K comparable, V any] struct {
	mu    sync.Mutex
	reads map[K]*onceRead[V]
}

type onceRead[V any] struct {
	done  chan struct{}
	value V
	err   error
}

// Start returns what waits for the read of key, starting it with read if
// no Start or Do of key did before.
func (o *Once[K, V]) Start(key K, read func() (V, error)) func() (V, error) {
	r, first := o.entry(key)
	if first {
		go r.run(read)
	}
	return r.wait
}

// Do returns the read of key, running read in the caller's goroutine if no
// Start or Do of key did before, else waiting for the one that did. A read
// that panics answers its waiters Internal and panics on in the caller.
func (o *Once[K, V]) Do(key K, read func() (V, error)) (V, error) {
	r, first := o.entry(key)
	if first {
		r.run(read)
	}
	return r.wait()
}

// entry returns key's read, and whether the caller made it (and must run it).
func (o *Once[K, V]) entry(key K) (*onceRead[V], bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if r, ok := o.reads[key]; ok {
		return r, false
	}
	if o.reads == nil {
		o.reads = make(map[K]*onceRead[V])
	}
	r := &onceRead[V]{done: make(chan struct{})}
	o.reads[key] = r
	return r, true
}

func (r *onceRead[V]) run(read func() (V, error)) {
	ended := false
	defer func() {
		if !ended {
			r.err = apperr.New(apperr.Internal, "a shared read failed")
		}
		close(r.done)
	}()
	r.value, r.err = read()
	ended = true
}

func (r *onceRead[V]) wait() (V, error) {
	<-r.done
	return r.value, r.err
}

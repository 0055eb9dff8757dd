package loader

import "sync"

// Once shares, within one request, a read that two resolvers need: the
// first Start of a key runs the read (at once, in its own goroutine), and
// every Start of the same key waits for that one read. A resolver that
// knows early what a later one will need starts it first, so that the
// later one does not wait for the earlier one's answer to begin (one
// upstream wave instead of two).
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
// no Start of key did before.
func (o *Once[K, V]) Start(key K, read func() (V, error)) func() (V, error) {
	o.mu.Lock()
	r, started := o.reads[key]
	if !started {
		if o.reads == nil {
			o.reads = make(map[K]*onceRead[V])
		}
		r = &onceRead[V]{done: make(chan struct{})}
		o.reads[key] = r
	}
	o.mu.Unlock()
	if !started {
		go func() {
			defer close(r.done)
			r.value, r.err = read()
		}()
	}
	return func() (V, error) {
		<-r.done
		return r.value, r.err
	}
}

// Package bufpool reuses the byte buffers that answers are written into
// and read from (a BFF's answer, a service's answer to a BFF): a buffer
// grown by doubling costs its size twice over in allocations, for every
// answer. A buffer that grew past MaxPooled is left to the collector, so
// one huge answer does not stay held.
package bufpool

import (
	"bytes"
	"sync"
)

// MaxPooled is the largest buffer kept for reuse, in bytes.
const MaxPooled = 1 << 20

// firstSize is the capacity of a new buffer: a small answer's.
const firstSize = 4 << 10

var buffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, firstSize)) }}

// Get returns an empty buffer.
func Get() *bytes.Buffer { return buffers.Get().(*bytes.Buffer) }

// Put gives b back once nothing reads it, nor its bytes, any more.
func Put(b *bytes.Buffer) {
	if b.Cap() > MaxPooled {
		return
	}
	b.Reset()
	buffers.Put(b)
}

// PutBytes gives back the memory of data, the bytes of a buffer from Get
// (its Bytes()), once nothing reads them any more. Bytes that did not
// come from Get are fine to give too; nil is ignored.
func PutBytes(data []byte) {
	if data == nil {
		return
	}
	Put(bytes.NewBuffer(data[:0]))
}

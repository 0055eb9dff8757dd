package gqlmarshal

import (
	"bytes"
	"sync"
)

// The buffers an answer is written into (the generated Exec's), reused:
// written into a new bytes.Buffer, an answer of 100 KB cost its size
// twice over in allocations as the buffer grew. A buffer that grew past
// maxPooledBuffer is left to the collector, so one huge answer does not
// stay held.
const (
	firstBufferSize = 4 << 10
	maxPooledBuffer = 1 << 20
)

var buffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, firstBufferSize)) }}

// Buffer returns an empty buffer for an answer's data.
func Buffer() *bytes.Buffer {
	return buffers.Get().(*bytes.Buffer)
}

// Release gives back the memory of data, the bytes of a buffer from
// Buffer (its Bytes()), once nothing reads them any more: the transport
// calls it when the answer is written. Data that did not come from Buffer
// is fine to release too; nil is ignored.
func Release(data []byte) {
	if data == nil || cap(data) > maxPooledBuffer {
		return
	}
	buffers.Put(bytes.NewBuffer(data[:0]))
}

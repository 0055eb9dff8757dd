package bufpool

import "testing"

// TestBufferIsEmptyAfterRelease checks that a buffer handed out again
// holds nothing of the answer it held before, and that a buffer grown
// past MaxPooled, or nil, is given back without harm.
func TestBufferIsEmptyAfterRelease(t *testing.T) {
	for i := range 200 {
		buf := Get()
		if buf.Len() != 0 {
			t.Fatalf("a buffer handed out holds %q", buf.String())
		}
		buf.WriteString(`{"viewer":{"email":"ada@example.com"}}`)
		if i%2 == 0 {
			PutBytes(buf.Bytes())
		} else {
			Put(buf)
		}
	}
	huge := Get()
	huge.Grow(2 * MaxPooled)
	PutBytes(huge.Bytes())
	PutBytes(nil)
	if buf := Get(); buf.Len() != 0 || buf.Cap() > MaxPooled {
		t.Errorf("after releasing a huge buffer: len %d, cap %d", buf.Len(), buf.Cap())
	}
}

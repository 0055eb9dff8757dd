package upstream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// answerOf is an answer whose body is text, as a service sends it.
func answerOf(text string) *http.Response {
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(text))}
}

// TestReadAheadHandsOverTheWholeAnswer checks that an answer read ahead
// reads the same as it came, whether it fits the read-ahead or is longer
// (then the rest follows what was read), and that once closed its body
// refuses to be read (its buffer has gone back to the pool).
func TestReadAheadHandsOverTheWholeAnswer(t *testing.T) {
	tr := &retryTransport{readAhead: 64}
	for name, text := range map[string]string{
		"empty":          "",
		"short":          `{"count":12}`,
		"exactly 64":     strings.Repeat("x", 64),
		"longer than 64": strings.Repeat("0123456789", 50),
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := tr.readAnswer(answerOf(text)) //nolint:bodyclose // closed below, twice: what the test checks
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			if err != nil || string(got) != text {
				t.Fatalf("read %q (%v), want %q", got, err, text)
			}
			if err := resp.Body.Close(); err != nil {
				t.Fatal(err)
			}
			if n, err := resp.Body.Read(make([]byte, 8)); n != 0 || !errors.Is(err, http.ErrBodyReadAfterClose) {
				t.Errorf("read after close: %d, %v; want %v", n, err, http.ErrBodyReadAfterClose)
			}
			if err := resp.Body.Close(); err != nil {
				t.Errorf("second close: %v", err)
			}
		})
	}
}

// TestReadAheadBuffersAreNotShared reads many answers at once, each closed
// as soon as it is read, so that buffers go back to the pool and out
// again while others are being read: every answer must read as its own
// (run with -race, as make test does).
func TestReadAheadBuffersAreNotShared(t *testing.T) {
	tr := &retryTransport{readAhead: 4 << 10}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				want := fmt.Sprintf(`{"answer":%d,"pad":%q}`, g*1000+i, strings.Repeat("ab", i%700))
				resp, err := tr.readAnswer(answerOf(want)) //nolint:bodyclose // closed as soon as read, below
				if err != nil {
					errs <- err
					return
				}
				var got bytes.Buffer
				_, err = io.Copy(&got, resp.Body)
				_ = resp.Body.Close()
				if err != nil || got.String() != want {
					errs <- fmt.Errorf("answer %d read as %.60q… (%w)", g*1000+i, got.String(), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// failingBody fails after its first bytes, as a connection lost mid-answer.
type failingBody struct{ sent bool }

func (b *failingBody) Read(p []byte) (int, error) {
	if b.sent {
		return 0, io.ErrUnexpectedEOF
	}
	b.sent = true
	return copy(p, `{"cou`), nil
}

func (b *failingBody) Close() error { return nil }

// TestReadAheadReportsAnAnswerBrokenOff checks that an answer whose
// connection fails while it is read ahead is an error (what the retries
// act on), not a short body.
func TestReadAheadReportsAnAnswerBrokenOff(t *testing.T) {
	tr := &retryTransport{readAhead: 64}
	resp, err := tr.readAnswer(&http.Response{StatusCode: http.StatusOK, Body: &failingBody{}}) //nolint:bodyclose // no answer to close: what the test checks
	if !errors.Is(err, io.ErrUnexpectedEOF) || resp != nil {
		t.Fatalf("got %v, %v; want %v and no answer", resp, err, io.ErrUnexpectedEOF)
	}
}

// BenchmarkReadAhead reads ahead an answer the size of a page of 100
// orders (~70 KB): its allocations are what pooling the buffer saves.
func BenchmarkReadAhead(b *testing.B) {
	tr := &retryTransport{readAhead: 4 << 20}
	text := strings.Repeat(`{"id":"o-000123","status":"PAID","items":[]},`, 1500)
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		resp, err := tr.readAnswer(answerOf(text)) //nolint:bodyclose // closed once read, below
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		_ = resp.Body.Close()
	}
}

package model

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMarshalDateTimeWritesQuotedRFC3339InUTC: into an answer's buffer
// and into any other writer, the same quoted RFC 3339 time in UTC,
// whatever the time's zone and year.
func TestMarshalDateTimeWritesQuotedRFC3339InUTC(t *testing.T) {
	t.Parallel()
	east := time.FixedZone("UTC+5:30", 5*3600+1800)
	for _, at := range []time.Time{
		time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 4, 10, 0, 0, 123456789, east),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(12026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
		{},
	} {
		want := strconv.Quote(at.UTC().Format(time.RFC3339))
		var buf bytes.Buffer
		buf.WriteString("x")
		MarshalDateTime(at).MarshalGQL(&buf)
		var other strings.Builder
		MarshalDateTime(at).MarshalGQL(&other)
		if buf.String() != "x"+want || other.String() != want {
			t.Errorf("%v: wrote %s and %s, want %s", at, buf.String(), other.String(), want)
		}
	}
}

// TestMarshalDateTimeFormatsInPlace: written into an answer's buffer, a
// time costs its marshaler only (before: two strings more).
func TestMarshalDateTimeFormatsInPlace(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	buf.Grow(256)
	allocs := testing.AllocsPerRun(100, func() {
		buf.Reset()
		MarshalDateTime(at).MarshalGQL(&buf)
	})
	if allocs > 1 {
		t.Errorf("%v allocations, want at most 1", allocs)
	}
}

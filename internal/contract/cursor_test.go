package contract

import (
	"errors"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, c := range []Cursor{{Key: "2026-01-02T03:04:05Z", ID: "ord_abc"}, {Key: "", ID: "prd_x"}, {Key: "Name with spaces & ünïcode", ID: "prd_1"}} {
		got, err := DecodeCursor(EncodeCursor(c))
		if err != nil || got != c {
			t.Errorf("DecodeCursor(EncodeCursor(%+v)) = %+v, %v", c, got, err)
		}
	}
}

func TestDecodeRejectsForeignCursors(t *testing.T) {
	for _, s := range []string{"", "!!!", "abc", EncodeCursor(Cursor{Key: "k"}), strings.Repeat("A", 600), "YzIAawB4AHk"} {
		if _, err := DecodeCursor(s); !errors.Is(err, ErrMalformedCursor) {
			t.Errorf("DecodeCursor(%.20q) = %v, want ErrMalformedCursor", s, err)
		}
	}
}

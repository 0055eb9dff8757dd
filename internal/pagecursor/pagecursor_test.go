package pagecursor

import (
	"errors"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, c := range []Cursor{{Key: "2026-01-02T03:04:05Z", ID: "ord_abc"}, {Key: "", ID: "prd_x"}, {Key: "Name with spaces & ünïcode", ID: "prd_1"}} {
		got, err := Decode(Encode(c))
		if err != nil || got != c {
			t.Errorf("Decode(Encode(%+v)) = %+v, %v", c, got, err)
		}
	}
}

func TestDecodeRejectsForeignCursors(t *testing.T) {
	for _, s := range []string{"", "!!!", "abc", Encode(Cursor{Key: "k"}), strings.Repeat("A", 600), "YzIAawB4AHk"} {
		if _, err := Decode(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(%.20q) = %v, want ErrMalformed", s, err)
		}
	}
}

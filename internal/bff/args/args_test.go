package args

import (
	"testing"

	"github.com/acme/bff-gateway/internal/apperr"
)

func TestPageSize(t *testing.T) {
	n := func(v int) *int { return &v }
	tests := []struct {
		arg     *int
		want    int
		invalid bool
	}{
		{nil, 5, false},
		{n(1), 1, false},
		{n(20), 20, false},
		{n(0), 0, true},
		{n(-3), 0, true},
		{n(21), 0, true},
	}
	for _, tt := range tests {
		got, err := PageSize(tt.arg, "first", 5, 20)
		if tt.invalid {
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.Invalid || e.Param != "first" || e.Message != "first must be from 1 to 20" {
				t.Errorf("PageSize(%d) = %d, %v; want BAD_USER_INPUT naming first", *tt.arg, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("PageSize(%v) = %d, %v; want %d", tt.arg, got, err, tt.want)
		}
	}
}

func TestValue(t *testing.T) {
	s := "mug"
	if Value(&s) != "mug" || Value[string](nil) != "" {
		t.Errorf("Value(&%q) = %q, Value(nil) = %q", s, Value(&s), Value[string](nil))
	}
	n := 3
	if Value(&n) != 3 || Value[int](nil) != 0 {
		t.Error("Value of an int")
	}
}

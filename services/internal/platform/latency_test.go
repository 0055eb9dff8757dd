package platform

import (
	"testing"
	"time"
)

func TestParseLatency(t *testing.T) {
	tests := []struct {
		in      string
		want    Latency
		wantErr bool
	}{
		{"", Latency{}, false},
		{"2ms", Latency{2 * time.Millisecond, 2 * time.Millisecond}, false},
		{"1ms-5ms", Latency{time.Millisecond, 5 * time.Millisecond}, false},
		{" 1ms - 5ms ", Latency{time.Millisecond, 5 * time.Millisecond}, false},
		{"5ms-1ms", Latency{}, true},
		{"fast", Latency{}, true},
		{"1ms-", Latency{}, true},
	}
	for _, tt := range tests {
		got, err := ParseLatency(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseLatency(%q) = %v, %v", tt.in, got, err)
		}
	}
	l := Latency{time.Millisecond, 3 * time.Millisecond}
	for range 100 {
		if d := l.Sample(); d < l.Min || d > l.Max {
			t.Fatalf("Sample() = %v outside %v", d, l)
		}
	}
}

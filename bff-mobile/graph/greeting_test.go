package graph

import (
	"testing"
	"time"
)

func TestGreeting(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, time.July, 15, h, m, 0, 0, time.UTC) }
	tests := []struct {
		t    time.Time
		name string
		want string
	}{
		{at(0, 0), "Ada", "Good evening, Ada"},
		{at(4, 59), "Ada", "Good evening, Ada"},
		{at(5, 0), "Ada", "Good morning, Ada"},
		{at(11, 59), "Ada", "Good morning, Ada"},
		{at(12, 0), "Ada", "Good afternoon, Ada"},
		{at(17, 59), "Ada", "Good afternoon, Ada"},
		{at(18, 0), "Ada", "Good evening, Ada"},
		{at(23, 59), "Grace", "Good evening, Grace"},
		{at(9, 0), "", "Good morning"},
		// The hour is the local one of t.
		{at(20, 0).In(time.FixedZone("UTC+9", 9*60*60)), "Ada", "Good morning, Ada"},
	}
	for _, tt := range tests {
		if got := greeting(tt.t, tt.name); got != tt.want {
			t.Errorf("greeting(%s, %q) = %q, want %q", tt.t.Format("15:04 MST"), tt.name, got, tt.want)
		}
	}
}

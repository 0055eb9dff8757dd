package contract

import (
	"strings"
	"testing"
)

func TestValidIdempotencyKey(t *testing.T) {
	for key, want := range map[string]bool{
		"":                       false,
		"a":                      true,
		"order-2026-12-03/ada#1": true,
		strings.Repeat("k", MaxIdempotencyKeyLen):   true,
		strings.Repeat("k", MaxIdempotencyKeyLen+1): false,
		"with space": false,
		"tab\there":  false,
		"new\nline":  false,
		"del\x7f":    false,
		"ünïcode":    false,
	} {
		if got := ValidIdempotencyKey(key); got != want {
			t.Errorf("ValidIdempotencyKey(%.20q) = %v, want %v", key, got, want)
		}
	}
}

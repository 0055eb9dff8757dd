package ids

import (
	"strings"
	"testing"
)

func TestNewIsValidAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := New(OrderPrefix)
		if !ValidOrder(id) || seen[id] {
			t.Fatalf("New gave %q (valid %v, repeated %v)", id, ValidOrder(id), seen[id])
		}
		seen[id] = true
	}
}

func TestValidRejectsEverythingThatCouldEscape(t *testing.T) {
	bad := []string{"", "usr_", "usr", "prd_abc", "usr_ABC", "usr_a/b", "usr_..", "usr_%2F", "usr_a?b", "usr_a#b",
		"usr_a\r\nb", "usr_a b", "usr_" + strings.Repeat("a", 33), "usr_a'--"}
	for _, s := range bad {
		if ValidUser(s) {
			t.Errorf("ValidUser(%q) = true", s)
		}
	}
	for _, s := range []string{"usr_a", "usr_0123456789abcdef", "usr_" + strings.Repeat("z", 32)} {
		if !ValidUser(s) {
			t.Errorf("ValidUser(%q) = false", s)
		}
	}
}

// Package ids makes and checks the opaque prefixed ids of the services'
// resources: usr_…, prd_…, ord_….
package ids

import (
	"crypto/rand"
	"strings"
)

// The id prefixes.
const (
	UserPrefix    = "usr_"
	ProductPrefix = "prd_"
	OrderPrefix   = "ord_"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// maxBodyLen bounds the part after the prefix.
const maxBodyLen = 32

// New returns a new random id with the prefix (16 characters of a lower-case
// Crockford base32 alphabet, 80 bits).
func New(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, 0, len(prefix)+len(b))
	out = append(out, prefix...)
	for _, c := range b {
		out = append(out, alphabet[int(c)%len(alphabet)])
	}
	return string(out)
}

// Valid reports whether s is the prefix followed by 1 to 32 lower-case
// letters or digits. Nothing else can reach a SQL statement or a URL path.
func Valid(prefix, s string) bool {
	body, ok := strings.CutPrefix(s, prefix)
	if !ok || len(body) == 0 || len(body) > maxBodyLen {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// ValidUser, ValidProduct and ValidOrder check ids of each kind.
func ValidUser(s string) bool    { return Valid(UserPrefix, s) }
func ValidProduct(s string) bool { return Valid(ProductPrefix, s) }
func ValidOrder(s string) bool   { return Valid(OrderPrefix, s) }

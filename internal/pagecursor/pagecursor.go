// Package pagecursor encodes the opaque keyset cursors used for pagination:
// the sort key and id of the last item of a page.
package pagecursor

import (
	"encoding/base64"
	"errors"
	"strings"
)

// ErrMalformed is returned for a cursor that this package did not make.
var ErrMalformed = errors.New("malformed cursor")

const version = "c1"

// maxLen bounds an encoded cursor.
const maxLen = 512

// Cursor is a position after an item with this sort key and id.
type Cursor struct {
	Key string
	ID  string
}

// Encode returns the cursor's opaque form.
func Encode(c Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(version + "\x00" + c.Key + "\x00" + c.ID))
}

// Decode parses an opaque cursor; it returns ErrMalformed for anything else.
func Decode(s string) (Cursor, error) {
	if len(s) > maxLen {
		return Cursor{}, ErrMalformed
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, ErrMalformed
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != 3 || parts[0] != version || parts[2] == "" {
		return Cursor{}, ErrMalformed
	}
	return Cursor{Key: parts[1], ID: parts[2]}, nil
}

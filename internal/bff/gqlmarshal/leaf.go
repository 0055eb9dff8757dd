package gqlmarshal

import (
	"bytes"
	"io"
	"strconv"
)

// String, Int and Boolean are the leaves of built-in scalars that
// internal/tools/gqlexec has marshalled from a pointer to the model's
// field ((*gqlmarshal.String)(&obj.Name)): a pointer needs no allocation
// where gqlgen's graphql.MarshalString, MarshalID, MarshalInt and
// MarshalBoolean allocate a closure for every value of an answer. They
// write the same bytes as those (tested against them).
type (
	String  string
	Int     int
	Boolean bool
)

// MarshalGQL writes s as graphql.MarshalString does: quoted, with ", \
// and the control characters escaped (\t, \r, \n, or \u00XX), and
// everything else as it is (invalid UTF-8 included).
func (s *String) MarshalGQL(w io.Writer) {
	if b, ok := w.(*bytes.Buffer); ok {
		appendQuoted(b, string(*s))
		return
	}
	var b bytes.Buffer
	appendQuoted(&b, string(*s))
	_, _ = w.Write(b.Bytes())
}

// MarshalGQL writes i in decimal, as graphql.MarshalInt does.
func (i *Int) MarshalGQL(w io.Writer) {
	if b, ok := w.(*bytes.Buffer); ok {
		b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(*i), 10))
		return
	}
	_, _ = io.WriteString(w, strconv.Itoa(int(*i)))
}

// MarshalGQL writes true or false, as graphql.MarshalBoolean does.
func (v *Boolean) MarshalGQL(w io.Writer) {
	if *v {
		_, _ = io.WriteString(w, "true")
		return
	}
	_, _ = io.WriteString(w, "false")
}

const hexDigits = "0123456789ABCDEF"

// appendQuoted writes s quoted into b as gqlgen's writeQuotedString does.
// gqlgen looks at runes, escaping those below 0x20, \ and "; every byte
// of a multi-byte (or invalid) sequence is 0x80 or above, so looking at
// bytes escapes the same ones and copies everything else unchanged.
func appendQuoted(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '\\' && c != '"' {
			continue
		}
		b.WriteString(s[start:i])
		switch c {
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case '\n':
			b.WriteString(`\n`)
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		}
		start = i + 1
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

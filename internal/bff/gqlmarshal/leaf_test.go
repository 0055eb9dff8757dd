package gqlmarshal

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// quotedCases are strings whose quoting differs in every way gqlgen's has.
var quotedCases = []string{
	"", "Ada Lovelace", `say "hi"`, `back\slash`, "tab\tline\nreturn\r", "\x00\x01\x1f\x7f", "ünïcödé ✓ 😀",
	"invalid \xff\xfe utf-8", "\xe2\x82", "end\\", `"`, strings.Repeat("ab\"", 100),
}

// writtenBy is what m writes into a bytes.Buffer and into another writer.
func writtenBy(m graphql.Marshaler) (toBuffer, toOther string) {
	var b bytes.Buffer
	m.MarshalGQL(&b)
	var o strings.Builder
	m.MarshalGQL(&o)
	return b.String(), o.String()
}

func TestStringWritesWhatGqlgenWrites(t *testing.T) {
	t.Parallel()
	for _, s := range quotedCases {
		checkString(t, s)
	}
}

// FuzzString: any string is written as graphql.MarshalString and
// graphql.MarshalID write it.
func FuzzString(f *testing.F) {
	for _, s := range quotedCases {
		f.Add(s)
	}
	f.Fuzz(checkString)
}

func checkString(t *testing.T, s string) {
	want, _ := writtenBy(graphql.MarshalString(s))
	if id, _ := writtenBy(graphql.MarshalID(s)); id != want {
		t.Fatalf("gqlgen's MarshalID and MarshalString differ for %q", s)
	}
	v := s
	toBuffer, toOther := writtenBy((*String)(&v))
	if toBuffer != want || toOther != want {
		t.Errorf("String(%q) wrote %s (buffer) and %s (other writer), gqlgen writes %s", s, toBuffer, toOther, want)
	}
}

func TestIntAndBooleanWriteWhatGqlgenWrites(t *testing.T) {
	t.Parallel()
	for _, i := range []int{0, 1, -1, 1250, math.MaxInt, math.MinInt} {
		want, _ := writtenBy(graphql.MarshalInt(i))
		v := i
		toBuffer, toOther := writtenBy((*Int)(&v))
		if toBuffer != want || toOther != want {
			t.Errorf("Int(%d) wrote %s and %s, gqlgen writes %s", i, toBuffer, toOther, want)
		}
	}
	for _, b := range []bool{true, false} {
		want, _ := writtenBy(graphql.MarshalBoolean(b))
		v := b
		toBuffer, toOther := writtenBy((*Boolean)(&v))
		if toBuffer != want || toOther != want {
			t.Errorf("Boolean(%v) wrote %s and %s, gqlgen writes %s", b, toBuffer, toOther, want)
		}
	}
}

// TestLeavesAllocateNothing: a leaf made from a model's field and written
// into the answer's buffer allocates nothing (gqlgen: a closure per value).
func TestLeavesAllocateNothing(t *testing.T) {
	model := struct {
		Name  string
		Count int
		Ok    bool
	}{"Ada \"the\" Lovelace", 42, true}
	var buf bytes.Buffer
	buf.Grow(1024)
	var m graphql.Marshaler
	n := testing.AllocsPerRun(100, func() {
		buf.Reset()
		m = (*String)(&model.Name)
		m.MarshalGQL(&buf)
		m = (*Int)(&model.Count)
		m.MarshalGQL(&buf)
		m = (*Boolean)(&model.Ok)
		m.MarshalGQL(&buf)
	})
	if n != 0 {
		t.Errorf("%v allocations, want none", n)
	}
}

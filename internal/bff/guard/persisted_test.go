package guard

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestAPQ(t *testing.T) {
	t.Parallel()
	const q = `query P { product(id: "1") { id name } }`
	hashOnly := func(h string) *http.Request { return postQuery("", map[string]any{"extensions": apqExt(h)}) }

	t.Run("miss, register, hit", func(t *testing.T) {
		t.Parallel()
		g := mustGuard(t, defaultConfig())
		rec, c := guardDo(g, hashOnly(Hash(q)))
		if c.called || rec.Code != http.StatusOK {
			t.Fatalf("miss: called %v, status %d", c.called, rec.Code)
		}
		if e := mustRefusal(t, rec); codeOf(e) != CodePersistedQueryNotFound || e.Message != "PersistedQueryNotFound" {
			t.Fatalf("miss: %s", rec.Body)
		}

		rec, c = guardDo(g, postQuery(q, map[string]any{"extensions": apqExt(Hash(q))}))
		if !c.called || c.query != q {
			t.Fatalf("register: called %v, query %q; %d %s", c.called, c.query, rec.Code, rec.Body)
		}

		rec, c = guardDo(g, hashOnly(strings.ToUpper(Hash(q))))
		if !c.called || c.query != q || !c.hasCost {
			t.Fatalf("hit: called %v, query %q, cost %v; %d %s", c.called, c.query, c.hasCost, rec.Code, rec.Body)
		}
	})

	t.Run("a mismatched hash is not registered", func(t *testing.T) {
		t.Parallel()
		g := mustGuard(t, defaultConfig())
		rec, c := guardDo(g, postQuery(q, map[string]any{"extensions": apqExt(Hash("{ other }"))}))
		if c.called || codeOf(mustRefusal(t, rec)) != CodePersistedQueryHashMismatch {
			t.Fatalf("mismatch: %d %s", rec.Code, rec.Body)
		}
		if n := g.apq.len(); n != 0 {
			t.Errorf("store holds %d entries after a mismatch", n)
		}
	})

	t.Run("junk is not registered", func(t *testing.T) {
		t.Parallel()
		g := mustGuard(t, defaultConfig())
		for _, junk := range []string{nested(30), "{ " + strings.Repeat("a ", 16000) + "}", "{ a(", "{ a { " + strings.Repeat("b ", 200) + "} }"} {
			rec, c := guardDo(g, postQuery(junk, map[string]any{"extensions": apqExt(Hash(junk))}))
			if c.called {
				t.Fatalf("junk passed: %d %s", rec.Code, rec.Body)
			}
			rec, _ = guardDo(g, hashOnly(Hash(junk)))
			if codeOf(mustRefusal(t, rec)) != CodePersistedQueryNotFound {
				t.Errorf("junk was registered: %s", rec.Body)
			}
		}
		if n := g.apq.len(); n != 0 {
			t.Errorf("store holds %d entries of junk", n)
		}
	})

	t.Run("an unselected operation is not registered", func(t *testing.T) {
		t.Parallel()
		g := mustGuard(t, defaultConfig())
		const two = "query A { a } query B { b }"
		if _, c := guardDo(g, postQuery(two, map[string]any{"extensions": apqExt(Hash(two))})); !c.called {
			t.Fatal("not passed on")
		}
		if n := g.apq.len(); n != 0 {
			t.Errorf("store holds %d entries", n)
		}
	})

	t.Run("the store is bounded in entries", func(t *testing.T) {
		t.Parallel()
		cfg := defaultConfig()
		cfg.APQ.MaxEntries = 20
		g := mustGuard(t, cfg)
		for i := range cfg.APQ.MaxEntries + 50 {
			u := fmt.Sprintf("{ a%d }", i)
			if _, c := guardDo(g, postQuery(u, map[string]any{"extensions": apqExt(Hash(u))})); !c.called {
				t.Fatalf("%s not passed on", u)
			}
			if n := g.apq.len(); n > cfg.APQ.MaxEntries {
				t.Fatalf("store holds %d entries, more than %d", n, cfg.APQ.MaxEntries)
			}
		}
		if n := g.apq.len(); n != cfg.APQ.MaxEntries {
			t.Errorf("store holds %d entries, want %d", n, cfg.APQ.MaxEntries)
		}
		// The oldest were evicted, the newest kept.
		if rec, _ := guardDo(g, hashOnly(Hash("{ a0 }"))); codeOf(mustRefusal(t, rec)) != CodePersistedQueryNotFound {
			t.Errorf("the oldest entry was kept: %s", rec.Body)
		}
		last := fmt.Sprintf("{ a%d }", cfg.APQ.MaxEntries+49)
		if _, c := guardDo(g, hashOnly(Hash(last))); !c.called {
			t.Error("the newest entry was evicted")
		}
	})

	t.Run("the store is bounded in bytes", func(t *testing.T) {
		t.Parallel()
		cfg := defaultConfig()
		cfg.APQ.MaxBytes = 1000
		g := mustGuard(t, cfg)
		for i := range 100 {
			u := fmt.Sprintf(`{ a%d(s: "%s") }`, i, strings.Repeat("x", 90))
			if _, c := guardDo(g, postQuery(u, map[string]any{"extensions": apqExt(Hash(u))})); !c.called {
				t.Fatalf("%s not passed on", u)
			}
			if n := g.apq.size(); n > cfg.APQ.MaxBytes {
				t.Fatalf("store holds %d bytes, more than %d", n, cfg.APQ.MaxBytes)
			}
		}
		if n := g.apq.len(); n == 0 || n > 10 {
			t.Errorf("store holds %d entries", n)
		}
		big := `{ a(s: "` + strings.Repeat("x", 2000) + `") }`
		if _, c := guardDo(g, postQuery(big, map[string]any{"extensions": apqExt(Hash(big))})); !c.called {
			t.Fatal("a document over the store's size was not passed on")
		}
		if rec, _ := guardDo(g, hashOnly(Hash(big))); codeOf(mustRefusal(t, rec)) != CodePersistedQueryNotFound {
			t.Errorf("a document over the store's size was stored")
		}
	})

	t.Run("disabled APQ still serves hash and query", func(t *testing.T) {
		t.Parallel()
		cfg := defaultConfig()
		cfg.APQ.Enabled = false
		g := mustGuard(t, cfg)
		if _, c := guardDo(g, postQuery(q, map[string]any{"extensions": apqExt(Hash(q))})); !c.called || c.query != q {
			t.Fatal("hash and query refused")
		}
		if rec, _ := guardDo(g, hashOnly(Hash(q))); codeOf(mustRefusal(t, rec)) != CodePersistedQueryNotSupported {
			t.Errorf("hash only: %s", rec.Body)
		}
	})
}

func TestTrusted(t *testing.T) {
	t.Parallel()
	const doc = "query P {\n  product(id: \"1\") { id name }\n}\n"
	cfg := defaultConfig()
	cfg.Trusted = NewManifest(map[string]string{"Product": doc, "Home": "{ home { greeting } }"})
	cases := []struct {
		name      string
		req       *http.Request
		wantQuery string // "" for a refusal
		wantCode  string
	}{
		{"hash", postQuery("", map[string]any{"extensions": apqExt(Hash(doc))}), doc, ""},
		{"hash of the trimmed text", postQuery("", map[string]any{"extensions": apqExt(Hash(strings.TrimSpace(doc)))}), doc, ""},
		{"identical text", postQuery(doc, nil), doc, ""},
		{"identical text with its hash", postQuery(doc, map[string]any{"extensions": apqExt(Hash(doc))}), doc, ""},
		{"text trimmed", postQuery(strings.TrimSpace(doc), nil), strings.TrimSpace(doc), ""},
		{"text with more space around", postQuery("\n\n  "+doc+"  ", nil), "\n\n  " + doc + "  ", ""},
		{"other text", postQuery(`query P { product(id: "2") { id name } }`, nil), "", CodePersistedQueryNotAllowed},
		{"text differing inside", postQuery(strings.Replace(doc, "id name", "id  name", 1), nil), "", CodePersistedQueryNotAllowed},
		{"unknown hash", postQuery("", map[string]any{"extensions": apqExt(Hash("{ a }"))}), "", CodePersistedQueryNotAllowed},
		{"hash of another text", postQuery("{ a }", map[string]any{"extensions": apqExt(Hash(doc))}), "", CodePersistedQueryHashMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec, c := do(t, cfg, tc.req)
			if tc.wantCode != "" {
				if c.called {
					t.Fatal("next was called")
				}
				if got := codeOf(mustRefusal(t, rec)); got != tc.wantCode {
					t.Errorf("code %s, want %s", got, tc.wantCode)
				}
				return
			}
			if !c.called {
				t.Fatalf("refused: %d %s", rec.Code, rec.Body)
			}
			if c.query != tc.wantQuery {
				t.Errorf("query %q, want %q", c.query, tc.wantQuery)
			}
		})
	}
}

func TestManifest(t *testing.T) {
	t.Parallel()
	m := NewManifest(map[string]string{"A": " { a } ", "B": "{ b }"})
	if got := m.Hashes(); len(got) != 2 || got["A"] != Hash(" { a } ") || got["B"] != Hash("{ b }") {
		t.Errorf("Hashes() = %v", got)
	}
	m.Hashes()["A"] = "changed"
	if m.Hashes()["A"] != Hash(" { a } ") {
		t.Error("Hashes() exposes the manifest's map")
	}
	for _, h := range []string{Hash(" { a } "), Hash("{ a }"), strings.ToUpper(Hash(" { a } "))} {
		if text, ok := m.Lookup(h); !ok || text != " { a } " {
			t.Errorf("Lookup(%s) = %q, %v", h, text, ok)
		}
	}
	if _, ok := m.Lookup(Hash("{ c }")); ok {
		t.Error("Lookup of an unknown hash succeeded")
	}
	for text, want := range map[string]bool{" { a } ": true, "{ a }": true, "\t{ a }\n": true, "{ b }": true, "{a}": false, "": false} {
		if got := m.Contains(text); got != want {
			t.Errorf("Contains(%q) = %v, want %v", text, got, want)
		}
	}
	var nilManifest *Manifest
	if nilManifest.Contains("{ a }") || len(nilManifest.Hashes()) != 0 {
		t.Error("a nil manifest holds documents")
	}
	if got := Hash(""); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("Hash(\"\") = %s", got)
	}
}

// TestAPQConcurrent registers and reads documents from many goroutines at
// once; run with -race.
func TestAPQConcurrent(t *testing.T) {
	t.Parallel()
	cfg := defaultConfig()
	cfg.APQ.MaxEntries = 16
	g := mustGuard(t, cfg)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				q := fmt.Sprintf("{ a%d }", (w*50+i)%40)
				if _, c := guardDo(g, postQuery(q, map[string]any{"extensions": apqExt(Hash(q))})); !c.called {
					t.Errorf("%s refused", q)
				}
				rec, c := guardDo(g, postQuery("", map[string]any{"extensions": apqExt(Hash(q))}))
				if !c.called && !strings.Contains(rec.Body.String(), CodePersistedQueryNotFound) {
					t.Errorf("hash of %s: %s", q, rec.Body)
				}
			}
		})
	}
	wg.Wait()
	if n := g.apq.len(); n > cfg.APQ.MaxEntries {
		t.Errorf("store holds %d entries", n)
	}
}

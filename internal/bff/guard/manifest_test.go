package guard

import (
	"encoding/json"
	"strings"
	"testing"
)

func persistedJSON(t *testing.T, ops ...PersistedOperation) []byte {
	t.Helper()
	b, err := json.Marshal(PersistedManifest{Format: PersistedManifestFormat, Version: 1, Operations: ops})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPersistedManifest(t *testing.T) {
	t.Parallel()
	const raw = "# the file\nquery P { product(id: \"1\") { id } }\n"
	const sent = "query P {\n  product(id: \"1\") {\n    id\n    __typename\n  }\n}"
	m, err := NewManifestWithPersisted(map[string]string{"P": raw},
		persistedJSON(t, PersistedOperation{ID: Hash(sent), Name: "P", Type: "query", Body: sent}))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{raw, sent} {
		if got, ok := m.Lookup(Hash(text)); !ok || got != text {
			t.Errorf("Lookup(Hash(%q)) = %q, %v", text, got, ok)
		}
		if !m.Contains(text) || !m.Contains("\n"+text+"\n") {
			t.Errorf("Contains(%q) is false", text)
		}
	}
	if m.Len() != 1 || len(m.Hashes()) != 1 || m.Hashes()["P"] != Hash(raw) {
		t.Errorf("Len %d, Hashes %v: the persisted body counts as a document", m.Len(), m.Hashes())
	}

	// Through the guard: the manifest's id alone runs its body.
	cfg := defaultConfig()
	cfg.Trusted = m
	rec, c := do(t, cfg, postQuery("", map[string]any{"extensions": apqExt(Hash(sent))}))
	if !c.called || c.query != sent {
		t.Fatalf("the manifest's id: %d %s", rec.Code, rec.Body)
	}
	rec, c = do(t, cfg, postQuery(sent, map[string]any{"extensions": apqExt(Hash(sent))}))
	if !c.called || c.query != sent {
		t.Fatalf("the manifest's body and id: %d %s", rec.Code, rec.Body)
	}
	rec, c = do(t, cfg, postQuery(strings.Replace(sent, "__typename", "name", 1), nil))
	if c.called || codeOf(mustRefusal(t, rec)) != CodePersistedQueryNotAllowed {
		t.Fatalf("another body: %d %s", rec.Code, rec.Body)
	}
}

func TestAddPersisted(t *testing.T) {
	t.Parallel()
	m := NewManifest(nil)
	if err := m.AddPersisted(Hash("{ a }"), "{ a }"); err != nil {
		t.Fatal(err)
	}
	if err := m.AddPersisted(strings.ToUpper(Hash("{ b }")), "{ b }"); err == nil {
		t.Error("an uppercase id was accepted (ids are lowercase hex)")
	}
	if err := m.AddPersisted(Hash("{ c }"), "{ d }"); err == nil {
		t.Error("an id that is not the body's hash was accepted")
	}
	if err := m.AddPersisted(Hash(" "), " "); err == nil {
		t.Error("an empty body was accepted")
	}
	if _, ok := m.Lookup(Hash("{ a }")); !ok || !m.Contains("{ a }") || m.Contains("{ d }") || m.Contains("{ b }") {
		t.Error("the manifest holds the wrong documents")
	}
}

func TestParsePersistedManifest(t *testing.T) {
	t.Parallel()
	good := PersistedOperation{ID: Hash("{ a }"), Name: "A", Type: "query", Body: "{ a }"}
	pm, err := ParsePersistedManifest(persistedJSON(t, good))
	if err != nil || len(pm.Operations) != 1 || pm.Operations[0] != good {
		t.Fatalf("ParsePersistedManifest = %+v, %v", pm, err)
	}
	bad := map[string]string{
		"not JSON":        `{"format":`,
		"another format":  `{"format":"relay","version":1,"operations":[]}`,
		"another version": `{"format":"apollo-persisted-query-manifest","version":2,"operations":[]}`,
		"unknown field":   `{"format":"apollo-persisted-query-manifest","version":1,"operations":[],"x":1}`,
		"trailing data":   `{"format":"apollo-persisted-query-manifest","version":1,"operations":[]} {}`,
	}
	for name, op := range map[string]PersistedOperation{
		"no name":      {ID: good.ID, Type: "query", Body: good.Body},
		"bad type":     {ID: good.ID, Name: "A", Type: "fragment", Body: good.Body},
		"wrong id":     {ID: Hash("{ b }"), Name: "A", Type: "query", Body: good.Body},
		"empty body":   {ID: Hash(""), Name: "A", Type: "query"},
		"duplicate":    good,
		"uppercase id": {ID: strings.ToUpper(good.ID), Name: "A", Type: "query", Body: good.Body},
	} {
		ops := []PersistedOperation{op}
		if name == "duplicate" {
			ops = append(ops, good)
		}
		bad[name] = string(persistedJSON(t, ops...))
	}
	for name, data := range bad {
		if _, err := ParsePersistedManifest([]byte(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := NewManifestWithPersisted(nil, []byte(data)); err == nil {
			t.Errorf("%s: NewManifestWithPersisted accepted it", name)
		}
	}
}

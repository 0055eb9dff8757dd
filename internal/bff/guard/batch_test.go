package guard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestBatching(t *testing.T) {
	t.Parallel()
	cfg := defaultConfig()
	cfg.Batching.Enabled = true
	var got []struct {
		query string
		cost  int
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var p struct{ Query string }
		_ = json.Unmarshal(b, &p)
		cost, _ := CostFromContext(r.Context())
		got = append(got, struct {
			query string
			cost  int
		}{p.Query, cost})
		http.SetCookie(w, &http.Cookie{Name: "c", Value: p.Query[:3]})
		w.Header().Set("X-Op", p.Query)
		w.Header().Set("Content-Type", "application/graphql-response+json")
		if p.Query == "{ bad }" {
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = io.WriteString(w, `{"errors":[{"message":"bad"}]}`)
			return
		}
		_, _ = io.WriteString(w, `{"data":{"q":`+mustJSON(p.Query)+`}}`)
	})
	const q1, q2 = "{ a(first: 5) { b } }", "{ c }"
	body := `[{"query":"` + q1 + `"}, {"query":"` + nested(20) + `"}, {"query":"` + q2 + `"}, 7, {"query":"{ bad }"}]`
	rec := httptest.NewRecorder()
	mustMiddleware(t, cfg, next).ServeHTTP(rec, post(body))

	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if len(got) != 3 || got[0].query != q1 || got[0].cost != 6 || got[1].query != q2 || got[1].cost != 1 {
		t.Fatalf("next ran %+v", got)
	}
	var answers []struct {
		Data   map[string]string `json:"data"`
		Errors []gqlErr          `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &answers); err != nil {
		t.Fatalf("answer is not a JSON array: %v: %s", err, rec.Body)
	}
	if len(answers) != 5 {
		t.Fatalf("%d answers, want 5: %s", len(answers), rec.Body)
	}
	if answers[0].Data["q"] != q1 || answers[2].Data["q"] != q2 {
		t.Errorf("answers out of order: %s", rec.Body)
	}
	if len(answers[1].Errors) != 1 || codeOf(answers[1].Errors[0]) != CodeQueryTooDeep {
		t.Errorf("the deep operation's answer: %+v", answers[1])
	}
	if len(answers[3].Errors) != 1 || codeOf(answers[3].Errors[0]) != CodeBadRequest {
		t.Errorf("the non-object's answer: %+v", answers[3])
	}
	if len(answers[4].Errors) != 1 || answers[4].Errors[0].Message != "bad" {
		t.Errorf("the failing operation's answer: %+v", answers[4])
	}
	if cookies := rec.Result().Cookies(); len(cookies) != 3 {
		t.Errorf("cookies %v, want one per operation run", cookies)
	}
	if op := rec.Header().Get("X-Op"); op != "{ bad }" {
		t.Errorf("X-Op %q, want the last operation's", op)
	}
}

func TestBatchingRefusesMalformedArrays(t *testing.T) {
	t.Parallel()
	cfg := defaultConfig()
	cfg.Batching.Enabled = true
	for _, body := range []string{`[`, `[{"query":"{ a }"},]`, ` [1, 2`} {
		rec, c := do(t, cfg, post(body))
		if c.called || rec.Code != http.StatusBadRequest || codeOf(mustRefusal(t, rec)) != CodeBadRequest {
			t.Errorf("%q: called %v, %d %s", body, c.called, rec.Code, rec.Body)
		}
	}
}

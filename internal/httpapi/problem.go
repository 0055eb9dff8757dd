// Package httpapi holds the JSON-over-HTTP plumbing shared by the REST
// services: RFC 9457 problem answers, strict JSON decoding and query
// parameter parsing.
package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// ProblemContentType is the media type of RFC 9457 problem details.
const ProblemContentType = "application/problem+json"

// ProblemTypePrefix prefixes a problem's code to make its type URI.
const ProblemTypePrefix = "urn:bff-gateway:problem:"

// Problem is an RFC 9457 problem details object with the extension members
// this project uses.
type Problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail,omitempty"`
	Code      apperr.Code    `json:"code"`
	Param     string         `json:"param,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
	Extra     map[string]any `json:"-"`
}

// MarshalJSON flattens Extra into the problem's members.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.Extra) == 0 {
		return b, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range p.Extra {
		if _, taken := m[k]; !taken {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// UnmarshalJSON keeps unknown members in Extra.
func (p *Problem) UnmarshalJSON(b []byte) error {
	type plain Problem
	if err := json.Unmarshal(b, (*plain)(p)); err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for _, k := range []string{"type", "title", "status", "detail", "code", "param", "request_id"} {
		delete(m, k)
	}
	if len(m) > 0 {
		p.Extra = make(map[string]any, len(m))
		for k, raw := range m {
			var v any
			if err := json.Unmarshal(raw, &v); err == nil {
				p.Extra[k] = v
			}
		}
	}
	return nil
}

// AsError turns a decoded problem back into a coded error.
func (p Problem) AsError() *apperr.Error {
	code := p.Code
	if code == "" {
		code = apperr.CodeForStatus(p.Status)
	}
	e := &apperr.Error{Code: code, Message: p.Detail, Param: p.Param}
	if len(p.Extra) > 0 {
		e.Details = p.Extra
	}
	return e
}

// ProblemFor builds the problem for err. Errors without a code become a
// masked internal error: their text is logged, never sent.
func ProblemFor(r *http.Request, err error) Problem {
	e, ok := apperr.As(err)
	if !ok {
		e = apperr.New(apperr.Internal, "internal error")
	}
	status := apperr.HTTPStatus(e.Code)
	return Problem{
		Type:      ProblemTypePrefix + string(e.Code),
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    e.Message,
		Code:      e.Code,
		Param:     e.Param,
		RequestID: requestctx.RequestIDFromContext(r.Context()),
		Extra:     e.Details,
	}
}

// WriteError writes err as a problem answer, and logs it when it is an
// internal error.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	p := ProblemFor(r, err)
	if p.Status >= 500 {
		requestctx.LoggerFromContext(r.Context()).ErrorContext(r.Context(), "request failed",
			"code", p.Code, "err", err)
	}
	if p.Code == apperr.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bff-gateway"`)
	}
	w.Header().Set("Content-Type", ProblemContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// WriteJSON writes v as a JSON answer with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

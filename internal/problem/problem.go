// Package problem is the error answer of every HTTP API of the stack: an
// RFC 9457 problem details document carrying an apperr code. The services
// and the BFFs' probes write it; the service clients read it back into the
// coded error it was made from.
package problem

import (
	"encoding/json"
	"net/http"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// ContentType is the media type of RFC 9457 problem details.
const ContentType = "application/problem+json"

// TypePrefix prefixes a problem's code to make its type URI.
const TypePrefix = "urn:bff-gateway:problem:"

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

// For builds the problem for err. Errors without a code become a
// masked internal error: their text is logged, never sent.
func For(r *http.Request, err error) Problem {
	e, ok := apperr.As(err)
	if !ok {
		e = apperr.New(apperr.Internal, "internal error")
	}
	status := apperr.HTTPStatus(e.Code)
	return Problem{
		Type:      TypePrefix + string(e.Code),
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    e.Message,
		Code:      e.Code,
		Param:     e.Param,
		RequestID: requestctx.RequestIDFromContext(r.Context()),
		Extra:     e.Details,
	}
}

// Write writes err as a problem answer, and logs it when it is an
// internal error.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	p := For(r, err)
	if p.Status >= 500 {
		requestctx.LoggerFromContext(r.Context()).ErrorContext(r.Context(), "request failed",
			"code", p.Code, "err", err)
	}
	if p.Code == apperr.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bff-gateway"`)
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

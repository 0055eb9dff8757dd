package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/acme/bff-gateway/internal/contract"

	"github.com/acme/bff-gateway/internal/apperr"
)

// DecodeJSON decodes the request body into dst strictly: the body must be
// JSON (when a Content-Type is given), at most contract.MaxBodyBytes, one value, with
// no unknown fields. It returns Invalid, PayloadTooLarge or
// UnsupportedMediaType errors; the message never echoes the body.
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return apperr.New(apperr.UnsupportedMediaType, "the body must be application/json")
		}
	}
	body := http.MaxBytesReader(w, r.Body, contract.MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return decodeError(err)
		}
		return apperr.InvalidParam("body", "the body must hold a single JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var maxErr *http.MaxBytesError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &maxErr):
		return apperr.Errorf(apperr.PayloadTooLarge, "the body is larger than %d bytes", contract.MaxBodyBytes)
	case errors.Is(err, io.EOF):
		return apperr.InvalidParam("body", "the body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &syntaxErr):
		return apperr.InvalidParam("body", "the body is not valid JSON")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return apperr.InvalidParam(field, "%s has the wrong type, want %s", field, typeErr.Type.String())
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if len(name) > 64 {
			name = name[:64]
		}
		return apperr.InvalidParam(name, "unknown field %q", name)
	}
	return apperr.InvalidParam("body", "the body could not be decoded: %s", safeMessage(err))
}

func safeMessage(err error) string {
	msg := err.Error()
	if len(msg) > 80 {
		msg = msg[:80]
	}
	return fmt.Sprintf("%q", msg)
}

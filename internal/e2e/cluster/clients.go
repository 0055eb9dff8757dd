package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/acme/bff-gateway/internal/bff/apikey"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/bff/gqldocs"
)

// What a test needs to act as the web and mobile clients of BFFs run as
// processes: the clients' documents and signing in.

// Documents are a client's documents (webops.Documents(),
// mobileops.Documents()) as the client sends them: each operation with
// the fragments it uses.
func Documents(docs map[string]string) map[string]string {
	out, err := gqldocs.Compose(docs)
	if err != nil {
		panic(err) // the documents are embedded: a broken build
	}
	return out
}

// GraphQLBody is the body of a GraphQL request.
func GraphQLBody(doc string, vars map[string]any) []byte {
	req := map[string]any{"query": doc}
	if vars != nil {
		req["variables"] = vars
	}
	b, err := json.Marshal(req)
	if err != nil {
		panic(err) // strings, numbers and maps of them always marshal
	}
	return b
}

// MobileAppHeader is what the mobile app sends with every request: JSON,
// and the development API key the BFFs accept outside production.
func MobileAppHeader() http.Header {
	return http.Header{"Content-Type": {"application/json"}, authn.APIKeyHeader: {apikey.DevKey}}
}

// WebSignIn signs email in through the web client's Login document at
// url (the BFF's /graphql) and returns the session cookie as a Cookie
// header value.
func WebSignIn(ctx context.Context, client *http.Client, url, loginDoc, email, password string) (string, error) {
	header, _, err := signIn(ctx, client, url, loginDoc, email, password, http.Header{"Content-Type": {"application/json"}})
	if err != nil {
		return "", fmt.Errorf("web sign-in of %s: %w", email, err)
	}
	if cookie := SessionCookie(header); cookie != "" {
		return cookie, nil
	}
	return "", fmt.Errorf("web sign-in of %s: no session cookie", email)
}

// SessionCookie is the first cookie an answer sets, as a Cookie header
// value ("name=value"): the web BFF sets only its session cookie.
func SessionCookie(h http.Header) string {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	return ""
}

// MobileSignIn signs email in through the mobile client's Login document
// at url (the BFF's /graphql), as the app does, and returns the bearer
// token.
func MobileSignIn(ctx context.Context, client *http.Client, url, loginDoc, email, password string) (string, error) {
	_, data, err := signIn(ctx, client, url, loginDoc, email, password, MobileAppHeader())
	if err != nil {
		return "", fmt.Errorf("mobile sign-in of %s: %w", email, err)
	}
	var d struct {
		Login struct {
			Token string `json:"token"`
		} `json:"login"`
	}
	if err := json.Unmarshal(data, &d); err != nil || d.Login.Token == "" {
		return "", fmt.Errorf("mobile sign-in of %s: no token (%w)", email, err)
	}
	return d.Login.Token, nil
}

// signIn posts a Login and returns the answer's headers and data; an
// answer other than 200 with data and no errors is an error.
func signIn(ctx context.Context, client *http.Client, url, doc, email, password string, header http.Header) (http.Header, json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(GraphQLBody(doc, map[string]any{"email": email, "password": password})))
	if err != nil {
		return nil, nil, err
	}
	req.Header = header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	var answer struct {
		Data   json.RawMessage   `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	switch err := json.Unmarshal(body, &answer); {
	case err != nil:
		return nil, nil, fmt.Errorf("answer not JSON: %w", err)
	case len(answer.Errors) > 0:
		return nil, nil, fmt.Errorf("errors: %s", answer.Errors[0])
	case len(answer.Data) == 0 || string(answer.Data) == "null":
		return nil, nil, errors.New("no data")
	}
	return resp.Header, answer.Data, nil
}

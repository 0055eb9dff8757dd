package usersvc_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/servicetest"
	"github.com/acme/bff-gateway/services/user/usersvc"
)

var (
	adminID = seed.UserID(0)
	adaID   = seed.UserID(1)
	graceID = seed.UserID(2)
)

func TestIssueTokenCarriesTheClaims(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	c := testutil.NewClient(t, usersvc.OpenAPI)

	status, body := testutil.Do(t, c, "POST", st.User.URL+"/v1/auth/token", "",
		contract.TokenRequest{Email: "ADA@example.com", Password: "ada123"}, nil)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	tok := testutil.MustJSON[contract.TokenResponse](t, body)
	if tok.TokenType != "Bearer" || tok.ExpiresIn != int(auth.DefaultTokenTTL.Seconds()) {
		t.Errorf("token_type %q expires_in %d, want Bearer and %d", tok.TokenType, tok.ExpiresIn, int(auth.DefaultTokenTTL.Seconds()))
	}
	parts := strings.Split(tok.AccessToken, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", tok.AccessToken)
	}
	var header map[string]any
	var claims map[string]any
	mustDecodeSegment(t, parts[0], &header)
	mustDecodeSegment(t, parts[1], &claims)
	if header["alg"] != "RS256" || header["kid"] == "" || header["kid"] == nil {
		t.Errorf("header = %v, want alg RS256 and a kid", header)
	}
	if claims["sub"] != adaID || claims["role"] != "customer" || claims["iss"] != auth.DefaultIssuer {
		t.Errorf("claims = %v", claims)
	}
	if aud, _ := claims["aud"].([]any); len(aud) != 1 || aud[0] != auth.DefaultAudience {
		t.Errorf("aud = %v, want [%s]", claims["aud"], auth.DefaultAudience)
	}
	iat, exp := claims["iat"].(float64), claims["exp"].(float64)
	if time.Duration(exp-iat)*time.Second != auth.DefaultTokenTTL {
		t.Errorf("exp - iat = %vs, want %v", exp-iat, auth.DefaultTokenTTL)
	}

	// The token verifies against the published JWKS.
	keys := auth.NewRemoteKeys(auth.RemoteKeysConfig{URL: st.User.URL + auth.JWKSPath})
	p, err := auth.NewVerifier(keys, auth.DefaultIssuer, auth.DefaultAudience).Verify(t.Context(), tok.AccessToken)
	if err != nil || p.Subject != adaID {
		t.Fatalf("verify against JWKS: %v, %+v", err, p)
	}
}

func mustDecodeSegment(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("decode segment: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode segment json: %v", err)
	}
}

func TestIssueTokenRejectsBadInput(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	url := st.User.URL + "/v1/auth/token"
	tests := []struct {
		name        string
		body        any
		contentType string
		status      int
		code        string
		param       string
	}{
		{"wrong password", contract.TokenRequest{Email: "ada@example.com", Password: "nope"}, "", 401, "unauthenticated", ""},
		{"unknown email", contract.TokenRequest{Email: "nobody@example.com", Password: "ada123"}, "", 401, "unauthenticated", ""},
		{"missing email", map[string]string{"password": "x"}, "", 400, "invalid_argument", "email"},
		{"missing password", map[string]string{"email": "ada@example.com"}, "", 400, "invalid_argument", "password"},
		{"too long password", contract.TokenRequest{Email: "ada@example.com", Password: strings.Repeat("x", 73)}, "", 400, "invalid_argument", "password"},
		{"unknown field", `{"email":"ada@example.com","password":"ada123","admin":true}`, "", 400, "invalid_argument", "admin"},
		{"broken JSON", `{"email":`, "", 400, "invalid_argument", "body"},
		{"two values", `{"email":"a","password":"b"} {}`, "", 400, "invalid_argument", "body"},
		{"wrong type", `{"email":1,"password":"b"}`, "", 400, "invalid_argument", "email"},
		{"not JSON", "email=a", "application/x-www-form-urlencoded", 415, "unsupported_media_type", ""},
		{"too large", `{"email":"` + strings.Repeat("a", contract.MaxBodyBytes) + `"}`, "", 413, "payload_too_large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.contentType != "" {
				h.Set("Content-Type", tt.contentType)
			}
			a := testutil.Call(t, c, "POST", url, "", tt.body, h)
			testutil.WantProblem(t, a, tt.status, tt.code, tt.param)
			if len(a.Body) > 1024 {
				t.Errorf("problem body is %d bytes: it must not echo the request", len(a.Body))
			}
		})
	}
}

func TestGetUserConfinesCustomers(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	ada := st.Token(t, "ada@example.com", "ada123")
	admin := st.Token(t, "admin@example.com", "admin123")
	tests := []struct {
		name, token, id string
		status          int
		code, param     string
	}{
		{"customer reads self", ada, adaID, 200, "", ""},
		{"customer reads another", ada, graceID, 404, "not_found", ""},
		{"customer reads admin", ada, adminID, 404, "not_found", ""},
		{"admin reads anyone", admin, graceID, 200, "", ""},
		{"admin reads unknown", admin, "usr_doesnotexist", 404, "not_found", ""},
		{"anonymous", "", adaID, 401, "unauthenticated", ""},
		{"bad token", "not.a.token", adaID, 401, "unauthenticated", ""},
		{"malformed id", admin, "usr_BAD!", 400, "invalid_argument", "id"},
		{"wrong prefix", admin, "prd_abc", 400, "invalid_argument", "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testutil.Call(t, c, "GET", st.User.URL+"/v1/users/"+tt.id, tt.token, nil, nil)
			if tt.status != 200 {
				testutil.WantProblem(t, a, tt.status, tt.code, tt.param)
				return
			}
			if a.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.Status, tt.status, a.Body)
			}
			u := testutil.MustJSON[contract.User](t, a.Body)
			if u.ID != tt.id || u.Email == "" || u.FirstName == "" {
				t.Errorf("user = %+v", u)
			}
		})
	}
}

func TestBatchUsersKeepsTheOrderAsked(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	admin := st.Token(t, "admin@example.com", "admin123")
	ada := st.Token(t, "ada@example.com", "ada123")

	ids := []string{graceID, "usr_missing1", adaID, adminID, graceID}
	status, body := testutil.Do(t, c, "GET", st.User.URL+"/v1/users?ids="+strings.Join(ids, ","), admin, nil, nil)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	batch := testutil.MustJSON[contract.UserBatch](t, body)
	var got []string
	for _, u := range batch.Users {
		got = append(got, u.ID)
	}
	if want := []string{graceID, adaID, adminID}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("users %v, want %v", got, want)
	}
	if len(batch.Missing) != 1 || batch.Missing[0] != "usr_missing1" {
		t.Errorf("missing %v, want [usr_missing1]", batch.Missing)
	}

	// A customer sees only themselves; the others are missing.
	status, body = testutil.Do(t, c, "GET", st.User.URL+"/v1/users?ids="+graceID+","+adaID, ada, nil, nil)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	batch = testutil.MustJSON[contract.UserBatch](t, body)
	if len(batch.Users) != 1 || batch.Users[0].ID != adaID || len(batch.Missing) != 1 || batch.Missing[0] != graceID {
		t.Errorf("customer batch = %+v", batch)
	}

	tooMany := make([]string, 101)
	for i := range tooMany {
		tooMany[i] = seed.UserID(i)
	}
	for name, q := range map[string]string{
		"empty":     "",
		"too many":  strings.Join(tooMany, ","),
		"malformed": adaID + ",usr_%2F..%2F",
	} {
		t.Run(name, func(t *testing.T) {
			a := testutil.Call(t, c, "GET", st.User.URL+"/v1/users?ids="+q, admin, nil, nil)
			testutil.WantProblem(t, a, 400, "invalid_argument", "ids")
		})
	}
}

func TestCountIsAdminOnly(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	url := st.User.URL + "/v1/users/count"

	status, body := testutil.Do(t, c, "GET", url, st.Token(t, "admin@example.com", "admin123"), nil, nil)
	if status != 200 || testutil.MustJSON[contract.Count](t, body).Count != servicetest.SmallSeed.Users {
		t.Errorf("admin: status %d body %s, want count %d", status, body, servicetest.SmallSeed.Users)
	}
	if status, _ := testutil.Do(t, c, "GET", url, st.Token(t, "grace@example.com", "grace123"), nil, nil); status != 403 {
		t.Errorf("customer: status %d, want 403", status)
	}
	if status, _ := testutil.Do(t, c, "GET", url, "", nil, nil); status != 401 {
		t.Errorf("anonymous: status %d, want 401", status)
	}
}

func TestDataAndTokensSurviveARestart(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	token := st.Token(t, "grace@example.com", "grace123")
	_, jwksBefore := testutil.Do(t, c, "GET", st.User.URL+auth.JWKSPath, "", nil, nil)

	st.Stop(t, "user")
	st.Start(t, "user")

	_, jwksAfter := testutil.Do(t, c, "GET", st.User.URL+auth.JWKSPath, "", nil, nil)
	if string(jwksBefore) != string(jwksAfter) {
		t.Errorf("the signing keys changed across a restart")
	}
	status, body := testutil.Do(t, c, "GET", st.User.URL+"/v1/users/"+graceID, token, nil, nil)
	if status != 200 || testutil.MustJSON[contract.User](t, body).Email != "grace@example.com" {
		t.Errorf("after restart: status %d body %s", status, body)
	}
}

func TestProbesRequestIDsAndUnknownRoutes(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	for _, path := range []string{"/healthz", "/readyz", "/openapi.yaml"} {
		if status, _ := testutil.Do(t, c, "GET", st.User.URL+path, "", nil, nil); status != 200 {
			t.Errorf("GET %s: %d", path, status)
		}
	}
	_, spec := testutil.Do(t, c, "GET", st.User.URL+"/openapi.yaml", "", nil, nil)
	testutil.MustLoadSpec(t, spec)

	h := http.Header{"X-Request-Id": {"test-req-42"}}
	a := testutil.Call(t, c, "GET", st.User.URL+"/v1/nothing-here", "", nil, h)
	if p := testutil.WantProblem(t, a, 404, "not_found", ""); p.RequestID != "test-req-42" {
		t.Errorf("unknown route: request_id %q, want test-req-42: %s", p.RequestID, a.Body)
	}
	a = testutil.Call(t, c, "DELETE", st.User.URL+"/v1/users/"+adaID, "", nil, nil)
	testutil.WantProblem(t, a, 405, "method_not_allowed", "")
}

package usersvc_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the driver the service uses

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/problem"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/servicetest"
	"github.com/acme/bff-gateway/services/user/usersvc"
)

const (
	tokenPath   = "/v1/auth/token"
	refreshPath = "/v1/auth/refresh"
	revokePath  = "/v1/auth/revoke"
)

// refreshTokenShape is "rt_" and the base64url of 32 bytes.
var refreshTokenShape = regexp.MustCompile(`^rt_[A-Za-z0-9_-]{43}$`)

// wantTokens checks a 200 answer carrying a new pair of tokens.
func wantTokens(t *testing.T, a testutil.Answer) contract.TokenResponse {
	t.Helper()
	if a.Status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", a.Status, a.Body)
	}
	if cc := a.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	tok := testutil.MustJSON[contract.TokenResponse](t, a.Body)
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || !refreshTokenShape.MatchString(tok.RefreshToken) {
		t.Fatalf("token answer %s: want an access token and a refresh token rt_ + 43 characters", a.Body)
	}
	return tok
}

func signIn(t *testing.T, c *http.Client, st *servicetest.Stack, email, password string) contract.TokenResponse {
	t.Helper()
	return wantTokens(t, testutil.Call(t, c, http.MethodPost, st.User.URL+tokenPath, "",
		contract.TokenRequest{Email: email, Password: password}, nil))
}

func refreshCall(t *testing.T, c *http.Client, st *servicetest.Stack, refreshToken string) testutil.Answer {
	t.Helper()
	return testutil.Call(t, c, http.MethodPost, st.User.URL+refreshPath, "", contract.RefreshRequest{RefreshToken: refreshToken}, nil)
}

func refreshOK(t *testing.T, c *http.Client, st *servicetest.Stack, refreshToken string) contract.TokenResponse {
	t.Helper()
	return wantTokens(t, refreshCall(t, c, st, refreshToken))
}

// wantRefused checks a 401 of a refresh or a revocation: code, challenge
// and no-store.
func wantRefused(t *testing.T, a testutil.Answer, code string) {
	t.Helper()
	testutil.WantProblem(t, a, http.StatusUnauthorized, code, "")
	if a.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("a 401 (%s) without WWW-Authenticate", code)
	}
	if cc := a.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
}

func revokeCall(t *testing.T, c *http.Client, st *servicetest.Stack, bearer string, body any) testutil.Answer {
	t.Helper()
	return testutil.Call(t, c, http.MethodPost, st.User.URL+revokePath, bearer, body, nil)
}

// wantRevoked checks a 200 answer to a revocation and its count.
func wantRevoked(t *testing.T, a testutil.Answer, n int) {
	t.Helper()
	if a.Status != http.StatusOK {
		t.Fatalf("revoke: status %d, want 200: %s", a.Status, a.Body)
	}
	if got := testutil.MustJSON[contract.RevokeResponse](t, a.Body).Revoked; got != n {
		t.Errorf("revoked %d, want %d", got, n)
	}
	if cc := a.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// usersDB opens the user service's database, read-only unless writable.
func usersDB(t *testing.T, st *servicetest.Stack, writable bool) *sql.DB {
	t.Helper()
	dsn := "file:" + filepath.Join(st.DataDir, "users.db") + "?_pragma=busy_timeout(10000)"
	if !writable {
		dsn += "&mode=ro"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// familyOf returns the family id, user id and revoked_reason ("" while
// live) of the family of a refresh token, found by its hash.
func familyOf(t *testing.T, db *sql.DB, refreshToken string) (familyID, userID, reason string) {
	t.Helper()
	var r sql.NullString
	err := db.QueryRowContext(t.Context(), `SELECT f.id, f.user_id, f.revoked_reason FROM refresh_tokens t
		JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = ?`, sha256Hex(refreshToken)).Scan(&familyID, &userID, &r)
	if err != nil {
		t.Fatalf("the family of a refresh token: %v", err)
	}
	return familyID, userID, r.String
}

// logBuffer collects the services' JSON logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// lines returns the log lines whose msg contains msg.
func (l *logBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if s, _ := m["msg"].(string); strings.Contains(s, msg) {
			out = append(out, m)
		}
	}
	return out
}

func loggedStack(t *testing.T, env map[string]string) (*servicetest.Stack, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	st := servicetest.StartStack(t, servicetest.StackOptions{
		Env:    env,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	return st, logs
}

// wantSecretsNowhere fails if a refresh token, or its hash, is in the
// logs or, in clear, in the database files.
func wantSecretsNowhere(t *testing.T, st *servicetest.Stack, logs *logBuffer, tokens ...string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(st.DataDir, "users.db*"))
	if len(files) == 0 {
		t.Fatal("no database file")
	}
	for _, tok := range tokens {
		secret := strings.TrimPrefix(tok, "rt_")
		if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), sha256Hex(tok)) {
			t.Errorf("a refresh token or its hash is in the logs")
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("a refresh token is in clear in %s", filepath.Base(f))
			}
		}
	}
}

func TestSignInGivesARefreshTokenStoredOnlyAsItsHash(t *testing.T) {
	st, logs := loggedStack(t, nil)
	c := testutil.NewClient(t, usersvc.OpenAPI)
	tok := signIn(t, c, st, "ada@example.com", "ada123")
	if tok.RefreshExpiresIn != int((24 * time.Hour).Seconds()) {
		t.Errorf("refresh_expires_in %d, want the idle lifetime, 24 h", tok.RefreshExpiresIn)
	}

	db := usersDB(t, st, false)
	rows, err := db.QueryContext(t.Context(), `SELECT t.hash, t.issued_at, t.idle_expires_at, t.rotated_at,
		f.user_id, f.created_at, f.expires_at, f.revoked_at FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		var hash, issued, idle, user, created, expires string
		var rotated, revoked sql.NullString
		if err := rows.Scan(&hash, &issued, &idle, &rotated, &user, &created, &expires, &revoked); err != nil {
			t.Fatal(err)
		}
		if hash != sha256Hex(tok.RefreshToken) {
			t.Errorf("the database holds %q, want the hex SHA-256 of the token", hash)
		}
		if user != adaID || rotated.Valid || revoked.Valid {
			t.Errorf("token row: user %s, rotated %v, revoked %v; want Ada's, current, live", user, rotated, revoked)
		}
		c, _ := time.Parse(time.RFC3339Nano, created)
		e, _ := time.Parse(time.RFC3339Nano, expires)
		i, _ := time.Parse(time.RFC3339Nano, issued)
		ie, _ := time.Parse(time.RFC3339Nano, idle)
		if e.Sub(c) != 7*24*time.Hour || ie.Sub(i) != 24*time.Hour {
			t.Errorf("family lasts %v, token %v; want 168h and 24h", e.Sub(c), ie.Sub(i))
		}
	}
	if err := rows.Err(); err != nil || n != 1 {
		t.Fatalf("%d refresh tokens stored (%v), want 1", n, err)
	}
	wantSecretsNowhere(t, st, logs, tok.RefreshToken)
}

func TestRefreshRotatesAndAReuseRevokesTheFamily(t *testing.T) {
	st, logs := loggedStack(t, nil)
	c := testutil.NewClient(t, usersvc.OpenAPI)
	first := signIn(t, c, st, "ada@example.com", "ada123")
	other := signIn(t, c, st, "ada@example.com", "ada123") // another device

	second := refreshOK(t, c, st, first.RefreshToken)
	if second.RefreshToken == first.RefreshToken {
		t.Fatal("a refresh returned the same refresh token")
	}
	status, body := testutil.Do(t, c, http.MethodGet, st.User.URL+"/v1/users/"+adaID, second.AccessToken, nil, nil)
	if status != http.StatusOK {
		t.Fatalf("the refreshed access token: status %d: %s", status, body)
	}
	var claims map[string]any
	mustDecodeSegment(t, strings.Split(second.AccessToken, ".")[1], &claims)
	if claims["sub"] != adaID || claims["role"] != "customer" {
		t.Errorf("refreshed access token claims %v, want Ada as a customer", claims)
	}
	third := refreshOK(t, c, st, second.RefreshToken)

	// The first token again: taken for theft.
	wantRefused(t, refreshCall(t, c, st, first.RefreshToken), "refresh_token_reused")
	// Its family is revoked: the newest token fails too, and again.
	wantRefused(t, refreshCall(t, c, st, third.RefreshToken), "unauthenticated")
	wantRefused(t, refreshCall(t, c, st, first.RefreshToken), "unauthenticated")
	wantRefused(t, revokeCall(t, c, st, "", contract.RevokeRequest{RefreshToken: third.RefreshToken}), "unauthenticated")
	// Ada's other sign-in is another family, untouched.
	refreshOK(t, c, st, other.RefreshToken)

	familyID, userID, reason := familyOf(t, usersDB(t, st, false), third.RefreshToken)
	if userID != adaID || reason != "reuse" {
		t.Errorf("family of user %s revoked for %q, want Ada's revoked for reuse", userID, reason)
	}
	warned := logs.lines(t, "refresh token was presented again")
	if len(warned) != 1 {
		t.Fatalf("%d warnings of a reuse, want 1:\n%s", len(warned), logs.String())
	}
	if w := warned[0]; w["level"] != "WARN" || w["user_id"] != adaID || w["family_id"] != familyID {
		t.Errorf("reuse logged as %v; want a WARN naming user %s and family %s", w, adaID, familyID)
	}
	wantSecretsNowhere(t, st, logs, first.RefreshToken, second.RefreshToken, third.RefreshToken, other.RefreshToken)
}

func TestConcurrentRefreshesOfOneTokenLetExactlyOneWin(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	tok := signIn(t, c, st, "ada@example.com", "ada123")

	const n = 20
	answers := make([]testutil.Answer, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			answers[i], errs[i] = testutil.Send(t.Context(), c, http.MethodPost, st.User.URL+refreshPath, "",
				contract.RefreshRequest{RefreshToken: tok.RefreshToken}, nil)
		})
	}
	close(start)
	wg.Wait()

	var won []contract.TokenResponse
	codes := map[string]int{}
	for i, a := range answers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		switch a.Status {
		case http.StatusOK:
			won = append(won, testutil.MustJSON[contract.TokenResponse](t, a.Body))
		case http.StatusUnauthorized:
			codes[string(testutil.MustJSON[problem.Problem](t, a.Body).Code)]++
		default:
			t.Errorf("status %d: %s", a.Status, a.Body)
		}
	}
	if len(won) != 1 || codes["refresh_token_reused"] < 1 || codes["refresh_token_reused"]+codes["unauthenticated"] != n-1 {
		t.Fatalf("%d refreshes won and the others were refused with %v; want exactly one 200, the rest 401s, a reuse among them", len(won), codes)
	}
	// The losers were reuses: the family is revoked, the winner's token too.
	wantRefused(t, refreshCall(t, c, st, won[0].RefreshToken), "unauthenticated")
}

func TestRefreshTokenExpiresWhenUnused(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{Env: map[string]string{"REFRESH_IDLE_TTL": "2s", "TOKEN_TTL": "3s"}})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	tok := signIn(t, c, st, "ada@example.com", "ada123")
	if tok.RefreshExpiresIn != 2 || tok.ExpiresIn != 3 {
		t.Errorf("refresh_expires_in %d, expires_in %d; want 2 and 3", tok.RefreshExpiresIn, tok.ExpiresIn)
	}
	// Used in time, it refreshes; the new one expires 2 s after this.
	tok = refreshOK(t, c, st, tok.RefreshToken)
	answered := time.Now()
	if tok.RefreshExpiresIn != 2 {
		t.Errorf("refresh_expires_in %d, want 2", tok.RefreshExpiresIn)
	}
	// The server made it no later than the answer arrived.
	time.Sleep(time.Until(answered.Add(2*time.Second + 200*time.Millisecond)))
	wantRefused(t, refreshCall(t, c, st, tok.RefreshToken), "unauthenticated")
}

func TestRefreshStopsAtTheAbsoluteExpiry(t *testing.T) {
	const idle, absolute = 2 * time.Second, 3 * time.Second
	st := servicetest.StartStack(t, servicetest.StackOptions{Env: map[string]string{
		"REFRESH_IDLE_TTL": idle.String(), "REFRESH_ABSOLUTE_TTL": absolute.String(),
	}})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	// The family's expiry is between these two, plus 3 s.
	sent := time.Now()
	tok := signIn(t, c, st, "ada@example.com", "ada123")
	answered := time.Now()
	earliest, latest := sent.Add(absolute), answered.Add(absolute)

	refreshed := 0
	for {
		time.Sleep(500 * time.Millisecond)
		before := time.Now()
		a := refreshCall(t, c, st, tok.RefreshToken)
		after := time.Now()
		if a.Status == http.StatusOK {
			if before.After(latest) {
				t.Fatalf("a refresh %v after the family's absolute expiry succeeded", before.Sub(latest))
			}
			tok = wantTokens(t, a)
			refreshed++
			// Never past the family's expiry: at most what is left of it
			// from when the request left, rounded down.
			if left := latest.Sub(before); time.Duration(tok.RefreshExpiresIn)*time.Second > left || tok.RefreshExpiresIn > int(idle.Seconds()) {
				t.Errorf("refresh_expires_in %d with at most %v left of the family", tok.RefreshExpiresIn, left)
			}
			continue
		}
		wantRefused(t, a, "unauthenticated")
		if after.Before(earliest) {
			t.Fatalf("refused %v before the family's absolute expiry, after %d refreshes", earliest.Sub(after), refreshed)
		}
		break
	}
	if refreshed < 3 {
		t.Errorf("%d refreshes before the absolute expiry, want a few", refreshed)
	}
}

func TestRevokeOneSignIn(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	phone := signIn(t, c, st, "ada@example.com", "ada123")
	laptop := signIn(t, c, st, "ada@example.com", "ada123")
	tablet := signIn(t, c, st, "ada@example.com", "ada123")
	grace := signIn(t, c, st, "grace@example.com", "grace123")

	// Without a bearer token: the refresh token is the credential.
	wantRevoked(t, revokeCall(t, c, st, "", contract.RevokeRequest{RefreshToken: phone.RefreshToken}), 1)
	wantRefused(t, refreshCall(t, c, st, phone.RefreshToken), "unauthenticated")
	wantRefused(t, revokeCall(t, c, st, "", contract.RevokeRequest{RefreshToken: phone.RefreshToken}), "unauthenticated")
	// With the owner's bearer token.
	wantRevoked(t, revokeCall(t, c, st, laptop.AccessToken, contract.RevokeRequest{RefreshToken: laptop.RefreshToken}), 1)
	wantRefused(t, refreshCall(t, c, st, laptop.RefreshToken), "unauthenticated")

	db := usersDB(t, st, false)
	if _, _, reason := familyOf(t, db, phone.RefreshToken); reason != "signout" {
		t.Errorf("revoked for %q, want signout", reason)
	}
	// The other sign-ins go on.
	refreshOK(t, c, st, tablet.RefreshToken)
	refreshOK(t, c, st, grace.RefreshToken)
}

func TestRevokeAllNeedsTheBearerAndRevokesOnlyItsUser(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	var ada []contract.TokenResponse
	for range 3 {
		ada = append(ada, signIn(t, c, st, "ada@example.com", "ada123"))
	}
	ada[2] = refreshOK(t, c, st, ada[2].RefreshToken) // a family with a rotated token
	grace := signIn(t, c, st, "grace@example.com", "grace123")
	all := contract.RevokeRequest{All: true}

	wantRefused(t, revokeCall(t, c, st, "", all), "unauthenticated")
	testutil.WantProblem(t, revokeCall(t, c, st, "not.a.token", all), http.StatusUnauthorized, "unauthenticated", "")
	ada[0] = refreshOK(t, c, st, ada[0].RefreshToken) // nothing was revoked

	wantRevoked(t, revokeCall(t, c, st, ada[1].AccessToken, all), 3)
	for i, tok := range ada {
		wantRefused(t, refreshCall(t, c, st, tok.RefreshToken), "unauthenticated")
		if _, _, reason := familyOf(t, usersDB(t, st, false), tok.RefreshToken); reason != "signout_all" {
			t.Errorf("Ada's sign-in %d revoked for %q, want signout_all", i, reason)
		}
	}
	refreshOK(t, c, st, grace.RefreshToken)
	// The access token still works until it expires, and nothing is left.
	wantRevoked(t, revokeCall(t, c, st, ada[1].AccessToken, all), 0)
}

func TestRevokeRefusesAnotherUsersRefreshToken(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	ada := signIn(t, c, st, "ada@example.com", "ada123")
	grace := signIn(t, c, st, "grace@example.com", "grace123")
	admin := signIn(t, c, st, "admin@example.com", "admin123")

	for who, bearer := range map[string]string{"grace": grace.AccessToken, "an admin": admin.AccessToken} {
		a := revokeCall(t, c, st, bearer, contract.RevokeRequest{RefreshToken: ada.RefreshToken})
		testutil.WantProblem(t, a, http.StatusForbidden, "forbidden", "")
		if a.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: no Cache-Control: no-store", who)
		}
	}
	if _, _, reason := familyOf(t, usersDB(t, st, false), ada.RefreshToken); reason != "" {
		t.Errorf("Ada's family was revoked (%s) by another user", reason)
	}
	refreshOK(t, c, st, ada.RefreshToken)
}

func TestRefreshAndRevokeRefuseBadInput(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	ada := signIn(t, c, st, "ada@example.com", "ada123")
	long := "rt_" + strings.Repeat("a", 126)
	tests := []struct {
		name, path, bearer string
		body               any
		status             int
		code, param        string
	}{
		{"refresh: unknown field", refreshPath, "", `{"refresh_token":"` + ada.RefreshToken + `","user":"x"}`, 400, "invalid_argument", "user"},
		{"refresh: wrong type", refreshPath, "", `{"refresh_token":5}`, 400, "invalid_argument", "refresh_token"},
		{"refresh: missing", refreshPath, "", `{}`, 400, "invalid_argument", "refresh_token"},
		{"refresh: empty", refreshPath, "", `{"refresh_token":""}`, 400, "invalid_argument", "refresh_token"},
		{"refresh: too long", refreshPath, "", contract.RefreshRequest{RefreshToken: long}, 400, "invalid_argument", "refresh_token"},
		{"refresh: broken JSON", refreshPath, "", `{"refresh_token":`, 400, "invalid_argument", "body"},
		{"refresh: unknown token", refreshPath, "", contract.RefreshRequest{RefreshToken: "rt_" + strings.Repeat("A", 43)}, 401, "unauthenticated", ""},
		{"refresh: not a refresh token", refreshPath, "", contract.RefreshRequest{RefreshToken: ada.AccessToken[:100]}, 401, "unauthenticated", ""},
		{"revoke: unknown field", revokePath, ada.AccessToken, `{"refresh_token":"` + ada.RefreshToken + `","everything":true}`, 400, "invalid_argument", "everything"},
		{"revoke: all of the wrong type", revokePath, ada.AccessToken, `{"all":"yes"}`, 400, "invalid_argument", "all"},
		{"revoke: refresh_token of the wrong type", revokePath, ada.AccessToken, `{"refresh_token":true}`, 400, "invalid_argument", "refresh_token"},
		{"revoke: both", revokePath, ada.AccessToken, `{"refresh_token":"` + ada.RefreshToken + `","all":true}`, 400, "invalid_argument", "all"},
		{"revoke: neither", revokePath, ada.AccessToken, `{}`, 400, "invalid_argument", "refresh_token"},
		{"revoke: all false", revokePath, ada.AccessToken, `{"all":false}`, 400, "invalid_argument", "all"},
		{"revoke: all false with a token", revokePath, "", `{"refresh_token":"` + ada.RefreshToken + `","all":false}`, 400, "invalid_argument", "all"},
		{"revoke: empty", revokePath, "", `{"refresh_token":""}`, 400, "invalid_argument", "refresh_token"},
		{"revoke: too long", revokePath, "", contract.RevokeRequest{RefreshToken: long}, 400, "invalid_argument", "refresh_token"},
		{"revoke: unknown token", revokePath, "", contract.RevokeRequest{RefreshToken: "rt_" + strings.Repeat("A", 43)}, 401, "unauthenticated", ""},
		{"revoke: a bad bearer token", revokePath, "not.a.token", contract.RevokeRequest{RefreshToken: ada.RefreshToken}, 401, "unauthenticated", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testutil.Call(t, c, http.MethodPost, st.User.URL+tt.path, tt.bearer, tt.body, nil)
			testutil.WantProblem(t, a, tt.status, tt.code, tt.param)
			if len(a.Body) > 1024 || strings.Contains(string(a.Body), ada.RefreshToken) {
				t.Errorf("the problem echoes the request: %s", a.Body)
			}
		})
	}
	for _, path := range []string{refreshPath, revokePath} {
		a := testutil.Call(t, c, http.MethodPost, st.User.URL+path, "", "refresh_token=x", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
		testutil.WantProblem(t, a, http.StatusUnsupportedMediaType, "unsupported_media_type", "")
	}
	// Nothing refused revoked or rotated anything.
	refreshOK(t, c, st, ada.RefreshToken)
}

func TestRefreshReadsTheUserAfresh(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	id, email := seed.UserID(7), "user7@example.com"
	promoted := signIn(t, c, st, email, seed.GeneratedPassword)
	gone := signIn(t, c, st, email, seed.GeneratedPassword)
	db := usersDB(t, st, true)

	// The access token carries the user's role as it is now.
	if _, err := db.ExecContext(t.Context(), `UPDATE users SET role = 'admin' WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	mustDecodeSegment(t, strings.Split(refreshOK(t, c, st, promoted.RefreshToken).AccessToken, ".")[1], &claims)
	if claims["sub"] != id || claims["role"] != "admin" {
		t.Errorf("claims %v, want %s as an admin", claims, id)
	}

	// A user that no longer exists refreshes nothing. (This connection
	// does not enforce foreign keys, so the family outlives the user and
	// the refresh meets a family without its user.)
	if _, err := db.ExecContext(t.Context(), `DELETE FROM users WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, refreshCall(t, c, st, gone.RefreshToken), "unauthenticated")
}

func TestRefreshTokensSurviveARestart(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	first := signIn(t, c, st, "grace@example.com", "grace123")
	second := refreshOK(t, c, st, first.RefreshToken)

	st.Stop(t, "user")
	st.Start(t, "user")

	third := refreshOK(t, c, st, second.RefreshToken)
	status, body := testutil.Do(t, c, http.MethodGet, st.User.URL+"/v1/users/"+graceID, third.AccessToken, nil, nil)
	if status != http.StatusOK {
		t.Errorf("access token from a refresh after a restart: status %d: %s", status, body)
	}
	// What was rotated before the restart is still known as rotated.
	wantRefused(t, refreshCall(t, c, st, first.RefreshToken), "refresh_token_reused")
	wantRefused(t, refreshCall(t, c, st, third.RefreshToken), "unauthenticated")
}

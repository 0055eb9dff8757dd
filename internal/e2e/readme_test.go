package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mobile "github.com/acme/bff-gateway/bff-mobile/app"
	web "github.com/acme/bff-gateway/bff-web/app"
	"github.com/acme/bff-gateway/internal/addrs"
	"github.com/acme/bff-gateway/internal/bff"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/services/servicetest"
)

// The README sections whose shell examples TestREADMEExamples runs, and
// the default addresses those examples hard-code.
var (
	readmeSections = []string{
		"### Try the BFFs (after `make run`)",
		"### Try it (after `make run`)",
	}
	readmeServiceAddrs = map[string]string{"user": addrs.User, "order": addrs.Order, "product": addrs.Product}
	readmeWebAddr      = addrs.BFFWeb
	readmeMobileAddr   = addrs.BFFMobile
)

// readmeTimeout bounds one README code block's run.
const readmeTimeout = 2 * time.Minute

// readmeExpect is what one README example (a comment and the commands
// under it) must print: one JSON answer per command whose output is not
// captured, none with GraphQL "errors" nor an HTTP problem (unless
// problem is set), each containing its strings; and the shell variables it
// sets ($(...)) must hold a single word, not an unmatched answer.
type readmeExpect struct {
	outputs [][]string
	vars    []string
	// problem is the status of the problem document every answer must be.
	problem int
	// check, if set, looks further at the answers.
	check func(t *testing.T, answers []json.RawMessage)
}

// readmeExpected is keyed by the first line of each example's comment.
// Every example of the README sections must have an entry.
var readmeExpected = map[string]readmeExpect{
	// Try the BFFs.
	"Web: sign in; the session lives in an HttpOnly cookie kept in cookies.txt.": {
		outputs: [][]string{{`"name":"Ada Lovelace"`, `"role":"CUSTOMER"`}},
	},
	"Web: the dashboard with that session.": {
		outputs: [][]string{{`"name":"Ada Lovelace"`, `"totalCount":`, `"featuredProducts":[{`}},
	},
	"Web: the catalogue needs no session; a search, two to a page.": {
		outputs: [][]string{{`"totalCount":`, `"hasNextPage":true`, `Mug`}},
	},
	"Web: one of Ada's orders, with its items.": {
		outputs: [][]string{{`"id":"ord_k86tzj61jh9x96cs"`, `"status":"PAID"`, `"product":{"name":`}},
	},
	"Web: place an order; the same idempotencyKey again returns the same order.": {
		outputs: [][]string{{`"order":{"id":"ord_`, `"status":"PENDING"`, `"userErrors":[]`}},
	},
	"Web: cancel one of Ada's pending orders; its stock goes back.": {
		outputs: [][]string{{`"id":"ord_m9teefn2rc1nc1fm"`, `"status":"CANCELLED"`, `"userErrors":[]`}},
	},
	"Web: sign out; the session ends and the cookie is cleared.": {
		outputs: [][]string{{`"logout":true`}},
	},
	"Web: the admin's overview, in a session of its own (admin-cookies.txt).": {
		outputs: [][]string{
			{`"name":"Alex Admin"`, `"role":"ADMIN"`},
			{`"orderCount":`, `"revenue":{"formatted":`, `"recentOrders":[{`, `"customer":{"name":`},
		},
	},
	"Mobile: sign in with the app key and keep the token.": {vars: []string{"TOKEN"}},
	"Mobile: the home screen.": {
		outputs: [][]string{{`"greeting":"`, `Ada"`, `"recentOrders":[{`, `"featured":[{`}},
	},
	"Mobile: the order list, three at a time (nextCursor, passed as after, gives the next).": {
		outputs: [][]string{{`"myOrders":{"items":[{`, `"nextCursor":"`}},
	},
	"Mobile: a product's screen; it needs the app key but no token.": {
		outputs: [][]string{{`"name":"Deluxe Building Set"`, `"priceFormatted":"$`}},
	},
	"Mobile: place an order.": {
		outputs: [][]string{{`"order":{"id":"ord_`, `"status":"PENDING"`, `"userErrors":[]`}},
	},

	// Try it (the services).
	"Sign in as Ada and keep the token.": {vars: []string{"TOKEN"}},
	"Who am I? Ada is usr_sc9ncephy7wfwt07 in the seed data.": {
		outputs: [][]string{{`"id":"usr_sc9ncephy7wfwt07"`, `"name":"Ada Lovelace"`}},
	},
	"The public catalogue: search, then the next page with the cursor it gave.": {
		vars: []string{"CURSOR"},
		outputs: [][]string{
			{`"products":[{`, `Mug`, `"next_cursor":"`},
			{`"products":[{`, `Mug`},
			{`"products":[{`, `"featured":true`},
			{`"id":"prd_mrgdp954v89sqf22"`, `"id":"prd_0kzm0kb30e2mvrhx"`, `"missing":["prd_nope"]`},
		},
		check: func(t *testing.T, answers []json.RawMessage) {
			type page struct {
				Products []struct{ ID string } `json:"products"`
			}
			var first, next page
			if json.Unmarshal(answers[0], &first) != nil || json.Unmarshal(answers[1], &next) != nil ||
				len(first.Products) == 0 || len(next.Products) == 0 || first.Products[0].ID == next.Products[0].ID {
				t.Errorf("the next page is not another page:\n%s\n%s", answers[0], answers[1])
			}
		},
	},
	"Ada's orders, newest first.": {
		outputs: [][]string{{`"orders":[{`, `"user_id":"usr_sc9ncephy7wfwt07"`}},
	},
	"Place an order; sending it again with the same key returns the same order.": {
		outputs: [][]string{{`"id":"ord_`, `"user_id":"usr_sc9ncephy7wfwt07"`, `"product_id":"prd_0kzm0kb30e2mvrhx"`}},
	},
	"Cancel one of Ada's seeded pending orders; its stock goes back.": {
		outputs: [][]string{{`"id":"ord_kqjper9rjvhpdhew"`, `"status":"cancelled"`}},
	},
	"Admin only: a customer gets a 403 problem.": {
		problem: http.StatusForbidden,
		outputs: [][]string{{`"code":"forbidden"`}},
	},
}

// TestREADMEExamples runs the shell examples of the README's "Try it"
// sections with bash, as printed, against the whole stack on its default
// addresses with the default seed (what `make run` starts), and checks
// every answer. It is skipped when a default port is taken (by `make run`,
// say), and fails instead when CI is set.
func TestREADMEExamples(t *testing.T) {
	skip := func(msg string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set, so it may not be skipped)")
		}
		t.Skip(msg)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		skip("bash is not on PATH")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		skip("curl is not on PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, heading := range readmeSections {
		block, err := readmeCodeBlock(string(readme), heading)
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, block)
	}

	addrs := []string{readmeServiceAddrs["user"], readmeServiceAddrs["order"], readmeServiceAddrs["product"], readmeWebAddr, readmeMobileAddr}
	for _, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			skip(fmt.Sprintf("the README examples need %s, which is taken (is `make run` running?): %v", addr, err))
		}
		l.Close()
	}

	servicetest.StartStack(t, servicetest.StackOptions{Seed: seed.DefaultSizes, Addrs: readmeServiceAddrs})
	startDefaultBFF(t, config.Web, web.New, readmeWebAddr)
	startDefaultBFF(t, config.Mobile, mobile.New, readmeMobileAddr)

	dir := t.TempDir()
	seen := map[string]bool{}
	for i, block := range blocks {
		for _, ex := range runReadmeBlock(t, bash, dir, readmeSections[i], block) {
			seen[ex.comment] = true
			t.Run(ex.comment, func(t *testing.T) { checkReadmeExample(t, ex) })
		}
	}
	for comment := range readmeExpected {
		if !seen[comment] {
			t.Errorf("readmeExpected has %q, which is no longer an example of the README", comment)
		}
	}
}

// readmeCodeBlock returns the first fenced sh or bash block under heading,
// before the next heading.
func readmeCodeBlock(readme, heading string) (string, error) {
	lines := strings.Split(readme, "\n")
	start := slices.Index(lines, heading)
	if start < 0 {
		return "", fmt.Errorf("README.md has no section %q", heading)
	}
	for i := start + 1; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(line, "#") {
			break
		}
		if line != "```sh" && line != "```bash" {
			continue
		}
		for j := i + 1; j < len(lines); j++ {
			if lines[j] == "```" {
				return strings.Join(lines[i+1:j], "\n") + "\n", nil
			}
		}
		return "", fmt.Errorf("README.md: the code block under %q is not closed", heading)
	}
	return "", fmt.Errorf("README.md: no sh code block under %q", heading)
}

// readmeExample is one example of a block, and what running it printed.
type readmeExample struct {
	comment string // the first line of its comment
	text    string
	output  string
	vars    map[string]string // the variables it sets, with their values
}

var readmeAssignment = regexp.MustCompile(`(?m)^([A-Za-z_][A-Za-z0-9_]*)=\$\(`)

// splitReadmeBlock cuts a code block into its examples: each is a comment
// and the commands under it, up to a blank line.
func splitReadmeBlock(t *testing.T, section, block string) []readmeExample {
	t.Helper()
	var out []readmeExample
	for _, para := range regexp.MustCompile(`\n\s*\n`).Split(strings.TrimSpace(block), -1) {
		first, _, _ := strings.Cut(para, "\n")
		if !strings.HasPrefix(first, "# ") {
			t.Fatalf("%s: an example does not start with a comment:\n%s", section, para)
		}
		out = append(out, readmeExample{comment: strings.TrimPrefix(first, "# "), text: para})
	}
	return out
}

// runReadmeBlock runs a block's examples in order in one bash, from dir,
// and returns each with what it printed.
func runReadmeBlock(t *testing.T, bash, dir, section, block string) []readmeExample {
	t.Helper()
	examples := splitReadmeBlock(t, section, block)
	const exampleMark, varMark = "\x1eexample ", "\x1evar "
	var script strings.Builder
	for i, ex := range examples {
		fmt.Fprintf(&script, "printf '\\n%s%d\\n'\n%s\n", exampleMark, i, ex.text)
		for _, m := range readmeAssignment.FindAllStringSubmatch(ex.text, -1) {
			fmt.Fprintf(&script, "printf '\\n%s%s=%%s\\n' \"$%s\"\n", varMark, m[1], m[1])
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), readmeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "--noprofile", "--norc")
	cmd.Dir = dir
	// No proxies, no ~/.curlrc: only what the examples say.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LC_ALL=C"}
	cmd.Stdin = strings.NewReader(script.String())
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s: the examples did not finish within %s:\n%s\n%s", section, readmeTimeout, stdout.String(), stderr.String())
	}
	if err != nil {
		t.Fatalf("%s: bash: %v\n%s\n%s", section, err, stdout.String(), stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("%s: the examples wrote to stderr:\n%s", section, stderr.String())
	}

	chunks := strings.Split(stdout.String(), "\n"+exampleMark)
	if strings.TrimSpace(chunks[0]) != "" || len(chunks) != len(examples)+1 {
		t.Fatalf("%s: %d outputs for %d examples:\n%s", section, len(chunks)-1, len(examples), stdout.String())
	}
	for i, chunk := range chunks[1:] {
		num, rest, _ := strings.Cut(chunk, "\n")
		if num != fmt.Sprint(i) {
			t.Fatalf("%s: output %d is marked %q", section, i, num)
		}
		ex := &examples[i]
		ex.vars = map[string]string{}
		parts := strings.Split(rest, "\n"+varMark)
		ex.output = parts[0]
		for _, v := range parts[1:] {
			name, value, _ := strings.Cut(strings.TrimSuffix(v, "\n"), "=")
			ex.vars[name] = value
		}
	}
	return examples
}

var readmeWord = regexp.MustCompile(`^[A-Za-z0-9._~+/=-]+$`)

// checkReadmeExample checks an example's output against readmeExpected.
func checkReadmeExample(t *testing.T, ex readmeExample) {
	t.Logf("%s\n--- printed:\n%s", ex.text, ex.output)
	want, ok := readmeExpected[ex.comment]
	if !ok {
		t.Fatalf("a new README example: add what it must print to readmeExpected in internal/e2e/readme_test.go")
	}
	for _, name := range want.vars {
		if v := ex.vars[name]; !readmeWord.MatchString(v) {
			t.Errorf("$%s is %q, not what the example means to keep", name, v)
		}
	}
	for name := range ex.vars {
		if !slices.Contains(want.vars, name) {
			t.Errorf("the example sets $%s: add it to readmeExpected", name)
		}
	}

	var answers []json.RawMessage
	dec := json.NewDecoder(strings.NewReader(ex.output))
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the output is not JSON answers: %v", err)
		}
		answers = append(answers, raw)
	}
	if len(answers) != len(want.outputs) {
		t.Fatalf("%d JSON answers, want %d", len(answers), len(want.outputs))
	}
	for i, raw := range answers {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Errorf("answer %d is not a JSON object: %s", i+1, raw)
			continue
		}
		if _, has := obj["errors"]; has {
			t.Errorf("answer %d has GraphQL errors: %s", i+1, raw)
		}
		var status int
		_ = json.Unmarshal(obj["status"], &status)
		isProblem := obj["type"] != nil && obj["title"] != nil && status >= 400
		switch {
		case want.problem != 0 && (!isProblem || status != want.problem):
			t.Errorf("answer %d is not a %d problem: %s", i+1, want.problem, raw)
		case want.problem == 0 && isProblem:
			t.Errorf("answer %d is a problem: %s", i+1, raw)
		}
		for _, s := range want.outputs[i] {
			if !strings.Contains(string(raw), s) {
				t.Errorf("answer %d lacks %s: %s", i+1, s, raw)
			}
		}
	}
	if want.check != nil && !t.Failed() {
		want.check(t, answers)
	}
}

// startDefaultBFF runs a BFF as its main does, with no environment at all:
// the default configuration, listening on addr (its default) and calling
// the services on their default addresses. It stops with the test.
func startDefaultBFF(t *testing.T, kind config.Kind, build bff.Build, addr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- bff.Run(ctx, kind, nil, func(string) string { return "" }, logs, build) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("bff-%s stopped with: %v", kind, err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("bff-%s did not stop", kind)
		}
	})
	url := "http://" + addr + "/healthz"
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-done:
			done <- err // for the cleanup
			t.Fatalf("bff-%s stopped at once: %v\n%s", kind, err, logs.String())
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("bff-%s is not healthy at %s: %v\n%s", kind, url, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writes and reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

package e2e_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/acme/bff-gateway/internal/bff/apikey"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/httpserver"
	"github.com/acme/bff-gateway/internal/telemetry"
	"github.com/acme/bff-gateway/services/order/ordersvc"
	"github.com/acme/bff-gateway/services/product/productsvc"
	"github.com/acme/bff-gateway/services/user/usersvc"
)

// The deployment artefacts of deploy/ (the Dockerfile and the kustomization
// of deploy/k8s/base), checked offline: the kustomization is built with
// kustomize's own library, every object is decoded strictly into the
// Kubernetes API types, and the manifests are held to what the binaries
// really read and serve. TestDeployChecksCatchBrokenManifests breaks the
// sources in memory, one way per check, and requires each to be caught.

// TestDeployManifests builds the kustomization and runs every check on it.
func TestDeployManifests(t *testing.T) {
	t.Parallel()
	root := auditRepoRoot(t)
	files, err := deploySources(root)
	if err != nil {
		t.Fatal(err)
	}
	s, err := buildDeploy(root, t.TempDir(), files)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range deployChecks {
		t.Run(c.name, func(t *testing.T) {
			var f findings
			c.check(s, &f)
			for _, msg := range f {
				t.Error(msg)
			}
		})
	}
}

// TestDeployChecksCatchBrokenManifests breaks the sources, one mistake at
// a time, and requires the checks (or the strict build) to say so: no check
// of TestDeployManifests passes whatever the manifests say.
func TestDeployChecksCatchBrokenManifests(t *testing.T) {
	t.Parallel()
	root := auditRepoRoot(t)
	files, err := deploySources(root)
	if err != nil {
		t.Fatal(err)
	}
	caught := map[string]bool{}
	for _, m := range deployMutations {
		caught[m.check] = true
	}
	for _, c := range deployChecks {
		if !caught[c.name] {
			t.Errorf("check %s: no mutation shows it can fail", c.name)
		}
	}
	for _, m := range deployMutations {
		t.Run(m.check+"/"+m.name, func(t *testing.T) {
			t.Parallel()
			src, ok := files[m.file]
			if !ok {
				t.Fatalf("no source %s", m.file)
			}
			if !bytes.Contains(src, []byte(m.old)) {
				t.Fatalf("%s no longer contains %q: update the mutation", m.file, m.old)
			}
			broken := make(map[string][]byte, len(files))
			for k, v := range files {
				broken[k] = v
			}
			broken[m.file] = bytes.Replace(src, []byte(m.old), []byte(m.new), 1)
			var all findings
			s, err := buildDeploy(root, t.TempDir(), broken)
			if err != nil {
				all.addf("objects: the strict build: %v", err) // the build is the objects check's first part
			} else {
				for _, c := range deployChecks {
					var f findings
					c.check(s, &f)
					for _, msg := range f {
						all.addf("%s: %s", c.name, msg)
					}
				}
			}
			for _, msg := range all {
				if strings.HasPrefix(msg, m.check+": ") && strings.Contains(msg, m.want) {
					return
				}
			}
			t.Errorf("%s with %q in place of %q: no finding of check %s says %q; findings:\n%s", m.file, m.new, m.old, m.check, m.want, strings.Join(all, "\n"))
		})
	}
}

// findings are what a check found wrong.
type findings []string

func (f *findings) addf(format string, args ...any) { *f = append(*f, fmt.Sprintf(format, args...)) }

// deployChecks are the checks of the built stack, by name.
var deployChecks = []struct {
	name  string
	check func(*deployStack, *findings)
}{
	{"objects", checkDeployObjects},
	{"labels", checkDeployLabels},
	{"images", checkDeployImages},
	{"env", checkDeployEnv},
	{"secrets", checkDeploySecrets},
	{"bff-config", checkDeployBFFConfig},
	{"service-config", checkDeployServiceConfig},
	{"ports", checkDeployPorts},
	{"probes", checkDeployProbes},
	{"shutdown", checkDeployShutdown},
	{"security", checkDeploySecurity},
	{"resources", checkDeployResources},
	{"storage", checkDeployStorage},
	{"services", checkDeployServices},
	{"autoscaling", checkDeployAutoscaling},
	{"disruption", checkDeployDisruption},
	{"network-policy", checkDeployNetworkPolicy},
	{"dockerfile", checkDeployDockerfile},
}

// deployMutations break one thing each: the check named must then report a
// finding that says want.
var deployMutations = []struct {
	check, name, file, old, new, want string
}{
	// The strict build itself.
	{"objects", "misspelt field", "deploy/k8s/base/bff-web.yaml", "readinessProbe:", "readynessProbe:", `unknown field "readynessProbe"`},
	{"objects", "missing resource", "deploy/k8s/base/kustomization.yaml", "  - product-service.yaml\n", "", "no Deployment product-service"},
	{"objects", "old apiVersion", "deploy/k8s/base/bff-mobile.yaml", "apiVersion: autoscaling/v2", "apiVersion: autoscaling/v1", "apiVersion autoscaling/v1, want autoscaling/v2"},
	{"labels", "no part-of", "deploy/k8s/base/kustomization.yaml", "app.kubernetes.io/part-of: bff-gateway", "app.kubernetes.io/part: bff-gateway", "app.kubernetes.io/part-of"},
	{"labels", "wrong name label", "deploy/k8s/base/user-service.yaml", "  labels:\n    app.kubernetes.io/name: user-service\n", "  labels:\n    app.kubernetes.io/name: users\n", `label app.kubernetes.io/name "users"`},
	{"images", "latest", "deploy/k8s/base/kustomization.yaml", `newTag: "0.1.0"`, `newTag: "latest"`, "pinned tag"},
	{"images", "another binary", "deploy/k8s/base/order-service.yaml", "image: bff-gateway/order", "image: bff-gateway/product", "not the image of order"},
	{"env", "a variable no binary reads", "deploy/k8s/base/bff-web.yaml", "- name: ADMIN_ADDR\n", "- name: ADMIN_ADDRESS\n", "ADMIN_ADDRESS"},
	{"env", "a secret as a literal", "deploy/k8s/base/product-service.yaml", "            - name: SERVICE_TOKEN\n              valueFrom:\n                secretKeyRef:\n                  name: bff-gateway-service-token\n                  key: service-token\n", "            - name: SERVICE_TOKEN\n              value: a-literal-token-of-32-characters\n", "SERVICE_TOKEN is set as a literal"},
	{"env", "not production", "deploy/k8s/base/user-service.yaml", "value: production", "value: development", "ENV"},
	{"secrets", "unknown key", "deploy/k8s/base/bff-web.yaml", "key: session-keys", "key: session-key", `no key "session-key"`},
	{"secrets", "in the build", "deploy/k8s/base/kustomization.yaml", "  - networkpolicy.yaml\n", "  - networkpolicy.yaml\n  - secrets.example.yaml\n", "must hold no Secret"},
	{"secrets", "a usable placeholder", "deploy/k8s/base/secrets.example.yaml", `session-keys: "CHANGE-ME"`, `session-keys: "k1:` + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, config.SessionKeyBytes)) + `"`, "CHANGE-ME"},
	{"secrets", "tokens that differ", "deploy/k8s/base/order-service.yaml", "name: bff-gateway-service-token", "name: bff-web-secrets", "the same SERVICE_TOKEN"},
	{"bff-config", "misspelt key", "deploy/k8s/base/config/bff-web.yaml", "secure_cookie: always", "secure_cookies: always", "secure_cookies"},
	{"bff-config", "not a CIDR", "deploy/k8s/base/config/bff-mobile.yaml", "- 10.244.0.0/16", "- 10.244.0.0", "http.trusted_proxies"},
	{"bff-config", "the dev key", "deploy/k8s/base/config/bff-mobile.yaml", "0000000000000000000000000000000000000000000000000000000000000000", apikey.Hash(apikey.DevKey), "published development key"},
	{"bff-config", "config file not mounted", "deploy/k8s/base/bff-web.yaml", "value: /etc/bff-gateway/config.yaml", "value: /etc/bff/config.yaml", "/etc/bff/config.yaml"},
	{"bff-config", "no Redis", "deploy/k8s/base/bff-mobile.yaml", "- name: REDIS_URL\n", "- name: OTEL_SERVICE_NAME\n", "Redis"},
	{"service-config", "wrong service URL", "deploy/k8s/base/order-service.yaml", "http://product-service:9003", "http://product:9003", "no Service product"},
	{"service-config", "URL to the wrong port", "deploy/k8s/base/bff-web.yaml", "http://order-service:9002", "http://order-service:9102", "port 9102"},
	{"service-config", "JWKS URL missing", "deploy/k8s/base/product-service.yaml", "- name: USER_SERVICE_URL\n              value: http://user-service:9001\n", "", "user-service"},
	{"ports", "container port", "deploy/k8s/base/bff-web.yaml", "containerPort: 9180", "containerPort: 9190", "9180"},
	{"ports", "loopback", "deploy/k8s/base/order-service.yaml", "value: 0.0.0.0:9002", "value: 127.0.0.1:9002", "127.0.0.1"},
	{"probes", "readiness path", "deploy/k8s/base/user-service.yaml", "path: /readyz", "path: /ready", "/ready"},
	{"probes", "liveness on admin", "deploy/k8s/base/product-service.yaml", "          livenessProbe:\n            httpGet:\n              path: /healthz\n              port: http", "          livenessProbe:\n            httpGet:\n              path: /healthz\n              port: admin", "port admin"},
	{"shutdown", "grace period", "deploy/k8s/base/bff-mobile.yaml", "terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds: 15", "terminationGracePeriodSeconds 15s"},
	{"shutdown", "drain longer than readiness", "deploy/k8s/base/config/bff-web.yaml", "drain_delay: 5s", "drain_delay: 1s", "drain_delay"},
	{"shutdown", "service grace period", "deploy/k8s/base/order-service.yaml", "terminationGracePeriodSeconds: 20", "terminationGracePeriodSeconds: 5", "terminationGracePeriodSeconds 5s"},
	{"security", "writable root", "deploy/k8s/base/bff-web.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"},
	{"security", "privilege escalation", "deploy/k8s/base/user-service.yaml", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation"},
	{"security", "capabilities", "deploy/k8s/base/order-service.yaml", `drop: ["ALL"]`, `drop: ["NET_RAW"]`, "ALL"},
	{"security", "no seccomp", "deploy/k8s/base/bff-mobile.yaml", "type: RuntimeDefault", "type: Unconfined", "seccompProfile"},
	{"security", "root", "deploy/k8s/base/product-service.yaml", "runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot"},
	{"resources", "request over limit", "deploy/k8s/base/bff-mobile.yaml", "memory: 64Mi", "memory: 512Mi", "above its limit"},
	{"resources", "no limit", "deploy/k8s/base/user-service.yaml", "              cpu: \"1\"\n", "", "limits.cpu"},
	{"storage", "data not mounted", "deploy/k8s/base/user-service.yaml", "value: /data", "value: /var/lib/data", "/var/lib/data"},
	{"storage", "two replicas", "deploy/k8s/base/product-service.yaml", "replicas: 1", "replicas: 2", "one replica"},
	{"storage", "rolling update", "deploy/k8s/base/order-service.yaml", "type: Recreate", "type: RollingUpdate", "Recreate"},
	{"services", "selector", "deploy/k8s/base/product-service.yaml", "  selector:\n    app.kubernetes.io/name: product-service\n  ports:", "  selector:\n    app.kubernetes.io/name: order-service\n  ports:", "selects [order-service]"},
	{"services", "scrape port", "deploy/k8s/base/user-service.yaml", `prometheus.io/port: "9101"`, `prometheus.io/port: "9001"`, "prometheus.io/port"},
	{"services", "target port", "deploy/k8s/base/bff-mobile.yaml", "targetPort: admin", "targetPort: http", "metrics"},
	{"autoscaling", "wrong target", "deploy/k8s/base/bff-web.yaml", "    kind: Deployment\n    name: bff-web", "    kind: Deployment\n    name: bff-webb", "bff-webb"},
	{"autoscaling", "one replica", "deploy/k8s/base/bff-web.yaml", "minReplicas: 3", "minReplicas: 1", "minReplicas 1"},
	{"autoscaling", "replicas on the Deployment", "deploy/k8s/base/bff-mobile.yaml", "  revisionHistoryLimit: 5\n", "  replicas: 2\n  revisionHistoryLimit: 5\n", "sets replicas"},
	{"disruption", "wrong selector", "deploy/k8s/base/bff-mobile.yaml", "  unhealthyPodEvictionPolicy: AlwaysAllow\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: bff-mobile", "  unhealthyPodEvictionPolicy: AlwaysAllow\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: bff-mobil", "no PodDisruptionBudget"},
	{"disruption", "blocks every eviction", "deploy/k8s/base/bff-web.yaml", "  maxUnavailable: 1\n  unhealthyPodEvictionPolicy", "  maxUnavailable: 0\n  unhealthyPodEvictionPolicy", "allows no eviction"},
	{"network-policy", "caller shut out", "deploy/k8s/base/networkpolicy.yaml", "values: [bff-web, bff-mobile, order-service]", "values: [bff-web, bff-mobile]", "product-service:http"},
	{"network-policy", "service not selected", "deploy/k8s/base/networkpolicy.yaml", "    matchLabels:\n      app.kubernetes.io/name: order-service", "    matchLabels:\n      app.kubernetes.io/name: order-svc", "order-service:http"},
	{"network-policy", "metrics open", "deploy/k8s/base/networkpolicy.yaml", "        - port: admin", "        - port: http", "admin"},
	{"dockerfile", "root", "deploy/docker/Dockerfile", "USER 65532:65532", "USER root", "USER"},
	{"dockerfile", "a shell", "deploy/docker/Dockerfile", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM debian:bookworm-slim", "distroless"},
	{"dockerfile", "unpinned", "deploy/docker/Dockerfile", "FROM golang:1.26.8-bookworm AS build", "FROM golang AS build", "pinned"},
	{"dockerfile", "cgo", "deploy/docker/Dockerfile", "CGO_ENABLED=0 GOOS=linux", "CGO_ENABLED=1 GOOS=linux", "CGO_ENABLED=0"},
	{"dockerfile", "shell-form entrypoint", "deploy/docker/Dockerfile", `ENTRYPOINT ["/server"]`, "ENTRYPOINT /server", "exec form"},
	{"dockerfile", "unknown binary", "deploy/docker/Dockerfile", "user|order|product)", "user|order)", "product"},
}

// --- the checks ---

func checkDeployObjects(s *deployStack, f *findings) {
	for _, name := range deployAppNames() {
		app := deployApps[name]
		if s.deployments[name] == nil {
			f.addf("no Deployment %s", name)
		}
		if s.services[name] == nil {
			f.addf("no Service %s", name)
		}
		if app.bff != "" {
			if s.autoscalers[name] == nil {
				f.addf("no HorizontalPodAutoscaler %s", name)
			}
			if s.budgets[name] == nil {
				f.addf("no PodDisruptionBudget %s", name)
			}
		}
	}
	for name := range s.deployments {
		if _, ok := deployApps[name]; !ok {
			f.addf("Deployment %s runs none of the five binaries the test knows", name)
		}
	}
	for _, d := range s.deployments {
		if n := len(d.Spec.Template.Spec.Containers); n != 1 {
			f.addf("Deployment %s: %d containers, want 1", d.Name, n)
		}
	}
}

func checkDeployLabels(s *deployStack, f *findings) {
	for _, o := range s.built {
		for k, want := range map[string]string{"app.kubernetes.io/part-of": "bff-gateway", "app.kubernetes.io/managed-by": "kustomize"} {
			if got := o.labels[k]; got != want {
				f.addf("%s %s: label %s %q, want %q", o.kind, o.name, k, got, want)
			}
		}
		if o.labels["app.kubernetes.io/component"] == "" {
			f.addf("%s %s: no label app.kubernetes.io/component", o.kind, o.name)
		}
		switch o.kind {
		case "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler":
			if got := o.labels["app.kubernetes.io/name"]; got != o.name {
				f.addf("%s %s: label app.kubernetes.io/name %q, want its name", o.kind, o.name, got)
			}
		case "ConfigMap", "PersistentVolumeClaim":
			if got := o.labels["app.kubernetes.io/name"]; deployApps[got].binary == "" || !strings.HasPrefix(o.name, got+"-") {
				f.addf("%s %s: label app.kubernetes.io/name %q names no Deployment it belongs to", o.kind, o.name, got)
			}
		}
	}
	for _, d := range s.deployments {
		l := d.Spec.Template.Labels
		if l["app.kubernetes.io/name"] != d.Name || l["app.kubernetes.io/part-of"] != "bff-gateway" {
			f.addf("Deployment %s: pod labels %v, want app.kubernetes.io/name=%s and app.kubernetes.io/part-of=bff-gateway", d.Name, l, d.Name)
		}
	}
}

func checkDeployImages(s *deployStack, f *findings) {
	for _, d := range s.deployments {
		c := deployContainer(d)
		app, ok := deployApps[d.Name]
		if c == nil || !ok {
			continue
		}
		ref := c.Image
		if name, _, _ := splitImage(ref); path.Base(name) != app.binary {
			f.addf("Deployment %s runs %s, not the image of %s (deploy/docker/Dockerfile --build-arg BINARY=%s)", d.Name, ref, app.binary, app.binary)
		}
		if !pinnedImage(ref) {
			f.addf("Deployment %s: image %s has no pinned tag or digest", d.Name, ref)
		}
	}
}

// deploySecretEnv are the variables that hold secrets: only ever from a
// Secret, never a literal in a manifest.
var deploySecretEnv = []string{"REDIS_URL", "SESSION_KEYS", "SERVICE_TOKEN"}

// deployRuntimeEnv are the variables the Go runtime reads.
var deployRuntimeEnv = []string{"GOMEMLIMIT"}

func checkDeployEnv(s *deployStack, f *findings) {
	for _, d := range s.deployments {
		c := deployContainer(d)
		app, ok := deployApps[d.Name]
		if c == nil || !ok {
			continue
		}
		reads := deployEnvNames(app)
		seen := map[string]bool{}
		for _, e := range c.Env {
			if seen[e.Name] {
				f.addf("Deployment %s sets %s twice", d.Name, e.Name)
			}
			seen[e.Name] = true
			if !reads[e.Name] {
				f.addf("Deployment %s sets %s, which %s does not read", d.Name, e.Name, app.binary)
			}
			if slices.Contains(deploySecretEnv, e.Name) && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
				f.addf("Deployment %s: %s is set as a literal, not from a Secret", d.Name, e.Name)
			}
		}
		if len(c.EnvFrom) > 0 {
			f.addf("Deployment %s uses envFrom: name each variable, so that this test can hold it to what the binary reads", d.Name)
		}
		env := deployEnv(s, c, deployDummySecret)
		if env["ENV"] != "production" {
			f.addf("Deployment %s: ENV %q, want production", d.Name, env["ENV"])
		}
	}
}

// deployEnvNames are the variables a binary reads, asked of its own code:
// each variable its configuration asks getenv for.
func deployEnvNames(app deployApp) map[string]bool {
	names := map[string]bool{}
	for _, n := range deployRuntimeEnv {
		names[n] = true
	}
	record := func(name string) string { names[name] = true; return "" }
	if app.bff != "" {
		// bff.Run: -config defaults to BFF_CONFIG; then config.Load and
		// the OTEL_* variables of tracing.
		names["BFF_CONFIG"] = true
		_, _ = config.Load(app.bff, "", record)
		telemetry.EnvFrom(record)
		return names
	}
	_, _ = parseDeployService(app.binary, record)
	return names
}

func checkDeploySecrets(s *deployStack, f *findings) {
	if len(s.builtSecrets) > 0 {
		f.addf("the kustomization must hold no Secret (%s is an example, applied by hand): it builds %v", deploySecretsExample, s.builtSecrets)
	}
	for _, sec := range s.secrets {
		for k, v := range sec.StringData {
			if !strings.Contains(v, "CHANGE-ME") {
				f.addf("%s: Secret %s key %s is not a CHANGE-ME placeholder", deploySecretsExample, sec.Name, k)
			}
		}
		if len(sec.Data) > 0 {
			f.addf("%s: Secret %s: use stringData placeholders, not data", deploySecretsExample, sec.Name)
		}
	}
	tokens := map[string]string{}
	for _, d := range s.deployments {
		c := deployContainer(d)
		if c == nil {
			continue
		}
		readsPlaceholder := false
		for _, e := range c.Env {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				continue
			}
			ref := e.ValueFrom.SecretKeyRef
			sec := s.secrets[ref.Name]
			if sec == nil {
				f.addf("Deployment %s: %s from Secret %s, which %s does not have", d.Name, e.Name, ref.Name, deploySecretsExample)
				continue
			}
			if _, ok := sec.StringData[ref.Key]; !ok {
				f.addf("Deployment %s: %s from Secret %s, which has no key %q in %s", d.Name, e.Name, ref.Name, ref.Key, deploySecretsExample)
			}
			if ref.Optional != nil && *ref.Optional {
				f.addf("Deployment %s: %s is optional: the pod must not start without it", d.Name, e.Name)
			}
			if e.Name == "SERVICE_TOKEN" {
				tokens[d.Name] = ref.Name + "/" + ref.Key
			}
			if e.Name == "SERVICE_TOKEN" || e.Name == "SESSION_KEYS" {
				readsPlaceholder = true
			}
		}
		// The example, applied as it is, must not give a working stack.
		if app, ok := deployApps[d.Name]; ok && readsPlaceholder {
			if _, err := loadDeployApp(s, d.Name, app, deployExampleSecret(s)); err == nil {
				f.addf("Deployment %s starts with the CHANGE-ME placeholders of %s: they must be refused", d.Name, deploySecretsExample)
			}
		}
	}
	if tokens["order-service"] != tokens["product-service"] {
		f.addf("order-service (%s) and product-service (%s) must read the same SERVICE_TOKEN", tokens["order-service"], tokens["product-service"])
	}
}

func checkDeployBFFConfig(s *deployStack, f *findings) {
	for _, name := range deployAppNames() {
		app, d := deployApps[name], s.deployments[name]
		if app.bff == "" || d == nil {
			continue
		}
		cfg, err := loadDeployApp(s, name, app, deployDummySecret)
		if err != nil {
			f.addf("Deployment %s: %v", name, err)
			continue
		}
		if !cfg.bff.Production() {
			f.addf("Deployment %s: env %q, want production", name, cfg.bff.Env)
		}
		if !cfg.bff.Redis.Shared() {
			f.addf("Deployment %s: no Redis (REDIS_URL): its replicas would not share sessions and rate limits", name)
		}
		// The development API key: config.Validate refuses it in production.
		if len(cfg.bff.HTTP.TrustedProxies) == 0 {
			f.addf("Deployment %s: no http.trusted_proxies: behind the ingress every client would share one address", name)
		}
	}
}

func checkDeployServiceConfig(s *deployStack, f *findings) {
	var issuers []string
	for _, name := range deployAppNames() {
		app := deployApps[name]
		if s.deployments[name] == nil {
			continue
		}
		cfg, err := loadDeployApp(s, name, app, deployDummySecret)
		if err != nil {
			if app.bff == "" {
				f.addf("Deployment %s: %v", name, err)
			}
			continue
		}
		issuers = append(issuers, cfg.issuer+" "+cfg.audience)
		for _, callee := range app.calls {
			raw := cfg.urls[callee]
			got, err := s.resolveURL(raw)
			switch {
			case err != nil:
				f.addf("Deployment %s calls %s at %q: %v", name, callee, raw, err)
			case got != callee:
				f.addf("Deployment %s calls %s at %q, which reaches %s", name, callee, raw, got)
			}
		}
	}
	slices.Sort(issuers)
	if len(slices.Compact(issuers)) > 1 {
		f.addf("the BFFs and the services disagree on the tokens' issuer and audience: %v", issuers)
	}
}

func checkDeployPorts(s *deployStack, f *findings) {
	for _, name := range deployAppNames() {
		d := s.deployments[name]
		c := deployContainer(d)
		if c == nil {
			continue
		}
		cfg, err := loadDeployApp(s, name, deployApps[name], deployDummySecret)
		if err != nil {
			continue // reported by bff-config and service-config
		}
		for _, p := range []struct{ port, addr string }{{"http", cfg.listen}, {"admin", cfg.admin}} {
			host, port, err := net.SplitHostPort(p.addr)
			if err != nil {
				f.addf("Deployment %s: %s address %q: %v", name, p.port, p.addr, err)
				continue
			}
			if host != "" && host != "0.0.0.0" && host != "::" {
				f.addf("Deployment %s listens on %s for %s: only 0.0.0.0 (or ::) is reachable from outside the pod", name, p.addr, p.port)
			}
			cp, ok := deployContainerPort(c, p.port)
			if !ok {
				f.addf("Deployment %s: no container port named %s", name, p.port)
				continue
			}
			if strconv.Itoa(int(cp.ContainerPort)) != port {
				f.addf("Deployment %s: container port %s is %d, but the binary listens on %s", name, p.port, cp.ContainerPort, p.addr)
			}
		}
	}
}

func checkDeployProbes(s *deployStack, f *findings) {
	for _, d := range s.deployments {
		c := deployContainer(d)
		if c == nil {
			continue
		}
		for _, p := range []struct {
			kind, path string
			probe      *corev1.Probe
			required   bool
		}{
			{"readiness", "/readyz", c.ReadinessProbe, true},
			{"liveness", "/healthz", c.LivenessProbe, true},
			{"startup", "/healthz", c.StartupProbe, false},
		} {
			if p.probe == nil {
				if p.required {
					f.addf("Deployment %s: no %s probe", d.Name, p.kind)
				}
				continue
			}
			get := p.probe.HTTPGet
			if get == nil {
				f.addf("Deployment %s: the %s probe is not an HTTP GET", d.Name, p.kind)
				continue
			}
			if get.Path != p.path {
				f.addf("Deployment %s: %s probe on %s, want %s", d.Name, p.kind, get.Path, p.path)
			}
			if cp, ok := deployPortOf(c, get.Port); !ok || cp.Name != "http" {
				f.addf("Deployment %s: %s probe on port %s, want the public port (http), where the binary serves %s", d.Name, p.kind, get.Port.String(), p.path)
			}
			if get.Scheme != "" && get.Scheme != corev1.URISchemeHTTP {
				f.addf("Deployment %s: %s probe over %s: the binaries serve plain HTTP", d.Name, p.kind, get.Scheme)
			}
		}
	}
}

// deployDrainMargin is what a pod's grace period must leave beyond the
// binary's own shutdown, for flushing spans and closing the databases.
const deployDrainMargin = 5 * time.Second

func checkDeployShutdown(s *deployStack, f *findings) {
	for _, name := range deployAppNames() {
		d := s.deployments[name]
		if d == nil {
			continue
		}
		app := deployApps[name]
		spec := d.Spec.Template.Spec
		if spec.TerminationGracePeriodSeconds == nil {
			f.addf("Deployment %s: set terminationGracePeriodSeconds", name)
			continue
		}
		grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
		need := httpserver.DefaultTimeouts.Shutdown // a service's own shutdown
		what := "the services' shutdown (internal/httpserver)"
		if app.bff != "" {
			cfg, err := loadDeployApp(s, name, app, deployDummySecret)
			if err != nil {
				continue
			}
			need = cfg.bff.Shutdown.DrainDelay + cfg.bff.Shutdown.Timeout
			what = fmt.Sprintf("shutdown.drain_delay %s + shutdown.timeout %s", cfg.bff.Shutdown.DrainDelay, cfg.bff.Shutdown.Timeout)
			// While draining, /readyz is 503: the readiness probe must see
			// it before drain_delay is over, or the pod still gets traffic
			// when it stops accepting.
			if c := deployContainer(d); c != nil && c.ReadinessProbe != nil {
				period, failures := c.ReadinessProbe.PeriodSeconds, c.ReadinessProbe.FailureThreshold
				if period == 0 {
					period = 10
				}
				if failures == 0 {
					failures = 3
				}
				if out := time.Duration(period*failures) * time.Second; out > cfg.bff.Shutdown.DrainDelay {
					f.addf("Deployment %s: the readiness probe takes %s to notice the drain, longer than shutdown.drain_delay %s", name, out, cfg.bff.Shutdown.DrainDelay)
				}
			}
		}
		if grace < need+deployDrainMargin {
			f.addf("Deployment %s: terminationGracePeriodSeconds %s, want at least %s + %s (%s)", name, grace, need, deployDrainMargin, what)
		}
	}
}

func checkDeploySecurity(s *deployStack, f *findings) {
	uid := deployDockerUser(s.dockerfile)
	for _, d := range s.deployments {
		c := deployContainer(d)
		if c == nil {
			continue
		}
		pod := d.Spec.Template.Spec.SecurityContext
		if pod == nil {
			pod = &corev1.PodSecurityContext{}
		}
		sc := c.SecurityContext
		if sc == nil {
			f.addf("Deployment %s: no container securityContext", d.Name)
			continue
		}
		nonRoot := pod.RunAsNonRoot
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
		if nonRoot == nil || !*nonRoot {
			f.addf("Deployment %s: runAsNonRoot is not true", d.Name)
		}
		user := pod.RunAsUser
		if sc.RunAsUser != nil {
			user = sc.RunAsUser
		}
		if user != nil && (*user == 0 || (uid != "" && strconv.FormatInt(*user, 10) != uid)) {
			f.addf("Deployment %s: runAsUser %d, want the image's user %s", d.Name, *user, uid)
		}
		seccomp := pod.SeccompProfile
		if sc.SeccompProfile != nil {
			seccomp = sc.SeccompProfile
		}
		if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
			f.addf("Deployment %s: seccompProfile is not RuntimeDefault (Pod Security Standards, restricted)", d.Name)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			f.addf("Deployment %s: allowPrivilegeEscalation is not false", d.Name)
		}
		if sc.Privileged != nil && *sc.Privileged {
			f.addf("Deployment %s is privileged", d.Name)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			f.addf("Deployment %s: readOnlyRootFilesystem is not true (write to volumes)", d.Name)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			f.addf("Deployment %s: capabilities must drop ALL and add none", d.Name)
		}
		if a := d.Spec.Template.Spec.AutomountServiceAccountToken; a == nil || *a {
			f.addf("Deployment %s: automountServiceAccountToken is not false (no binary calls the Kubernetes API)", d.Name)
		}
	}
}

func checkDeployResources(s *deployStack, f *findings) {
	for _, d := range s.deployments {
		c := deployContainer(d)
		if c == nil {
			continue
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			if !hasReq {
				f.addf("Deployment %s: no requests.%s", d.Name, r)
			}
			if !hasLim {
				f.addf("Deployment %s: no limits.%s", d.Name, r)
			}
			if hasReq && hasLim && req.Cmp(lim) > 0 {
				f.addf("Deployment %s: requests.%s %s is above its limit %s", d.Name, r, req.String(), lim.String())
			}
		}
	}
}

func checkDeployStorage(s *deployStack, f *findings) {
	for _, name := range deployAppNames() {
		app, d := deployApps[name], s.deployments[name]
		if app.bff != "" || d == nil {
			continue
		}
		// SQLite is one file per instance: one pod, and never two at once.
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
			f.addf("Deployment %s: want exactly one replica (SQLite is per instance)", name)
		}
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			f.addf("Deployment %s: strategy %q, want Recreate (two pods must never share the database)", name, d.Spec.Strategy.Type)
		}
		c := deployContainer(d)
		cfg, err := loadDeployApp(s, name, app, deployDummySecret)
		if c == nil || err != nil {
			continue
		}
		vm, vol := deployMountOf(d, c, cfg.dataDir)
		switch {
		case vm == nil:
			f.addf("Deployment %s: DATA_DIR %s is on no volume (the root file system is read-only)", name, cfg.dataDir)
		case vm.ReadOnly || vm.SubPath != "":
			f.addf("Deployment %s: DATA_DIR %s must be a whole, writable volume", name, cfg.dataDir)
		case vol.PersistentVolumeClaim != nil:
			pvc := s.claims[vol.PersistentVolumeClaim.ClaimName]
			if pvc == nil {
				f.addf("Deployment %s: DATA_DIR on PersistentVolumeClaim %s, which the build does not have", name, vol.PersistentVolumeClaim.ClaimName)
			} else if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteOnce) && !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteOncePod) {
				f.addf("PersistentVolumeClaim %s: want ReadWriteOnce (one SQLite writer)", pvc.Name)
			}
		case vol.EmptyDir != nil:
			// Accepted (data lost with the pod): production wants a claim.
		default:
			f.addf("Deployment %s: DATA_DIR on volume %s, neither a claim nor an emptyDir", name, vol.Name)
		}
	}
}

func checkDeployServices(s *deployStack, f *findings) {
	for _, svc := range s.services {
		selected := s.selectedBy(svc.Spec.Selector)
		if len(selected) != 1 || selected[0] != svc.Name {
			f.addf("Service %s selects %v, want exactly the pods of Deployment %s", svc.Name, selected, svc.Name)
			continue
		}
		c := deployContainer(s.deployments[svc.Name])
		if c == nil {
			continue
		}
		ports := map[string]corev1.ServicePort{}
		for _, p := range svc.Spec.Ports {
			ports[p.Name] = p
		}
		for svcPort, containerPort := range map[string]string{"http": "http", "metrics": "admin"} {
			p, ok := ports[svcPort]
			if !ok {
				f.addf("Service %s: no port named %s", svc.Name, svcPort)
				continue
			}
			cp, ok := deployPortOf(c, p.TargetPort)
			if !ok || cp.Name != containerPort {
				f.addf("Service %s: port %s targets %s, want the container port %s", svc.Name, svcPort, p.TargetPort.String(), containerPort)
			}
		}
		a := svc.Annotations
		if a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" || a["prometheus.io/port"] != strconv.Itoa(int(ports["metrics"].Port)) {
			f.addf("Service %s: want prometheus.io/scrape \"true\", prometheus.io/path /metrics and prometheus.io/port %d (its metrics port), not %v", svc.Name, ports["metrics"].Port, a)
		}
	}
}

// deployMinReplicas is the least each BFF runs (web takes most traffic).
var deployMinReplicas = map[string]int32{"bff-web": 3, "bff-mobile": 2}

func checkDeployAutoscaling(s *deployStack, f *findings) {
	scaled := map[string]int{}
	for _, h := range s.autoscalers {
		ref := h.Spec.ScaleTargetRef
		d := s.deployments[ref.Name]
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || d == nil {
			f.addf("HorizontalPodAutoscaler %s targets %s %s %s, which the build does not have", h.Name, ref.APIVersion, ref.Kind, ref.Name)
			continue
		}
		scaled[ref.Name]++
		if deployApps[ref.Name].bff == "" {
			f.addf("HorizontalPodAutoscaler %s scales %s: a service runs one replica (SQLite)", h.Name, ref.Name)
			continue
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < deployMinReplicas[ref.Name] {
			f.addf("HorizontalPodAutoscaler %s: minReplicas %v, want at least %d", h.Name, deref(h.Spec.MinReplicas), deployMinReplicas[ref.Name])
		}
		if h.Spec.MinReplicas != nil && h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			f.addf("HorizontalPodAutoscaler %s: maxReplicas below minReplicas", h.Name)
		}
		cpu := false
		for _, m := range h.Spec.Metrics {
			if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
				m.Resource.Target.Type == autoscalingv2.UtilizationMetricType && m.Resource.Target.AverageUtilization != nil {
				cpu = true
			}
		}
		if !cpu {
			f.addf("HorizontalPodAutoscaler %s: no CPU utilisation target", h.Name)
		}
		if c := deployContainer(d); c != nil && c.Resources.Requests.Cpu().IsZero() {
			f.addf("HorizontalPodAutoscaler %s: Deployment %s has no CPU request to measure utilisation against", h.Name, d.Name)
		}
		if d.Spec.Replicas != nil {
			f.addf("Deployment %s sets replicas although HorizontalPodAutoscaler %s owns the count (each apply would reset it)", d.Name, h.Name)
		}
	}
	for name, app := range deployApps {
		if app.bff != "" && scaled[name] != 1 {
			f.addf("Deployment %s: %d HorizontalPodAutoscalers, want 1", name, scaled[name])
		}
	}
}

func checkDeployDisruption(s *deployStack, f *findings) {
	budgeted := map[string]int{}
	for _, b := range s.budgets {
		if b.Spec.Selector == nil {
			f.addf("PodDisruptionBudget %s selects nothing", b.Name)
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		if err != nil {
			f.addf("PodDisruptionBudget %s: %v", b.Name, err)
			continue
		}
		var matched []string
		for _, d := range s.deployments {
			if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				matched = append(matched, d.Name)
			}
		}
		if len(matched) != 1 {
			f.addf("PodDisruptionBudget %s selects the pods of %v, want those of exactly one Deployment", b.Name, matched)
			continue
		}
		budgeted[matched[0]]++
		minReplicas := deployMinReplicas[matched[0]]
		switch {
		case b.Spec.MaxUnavailable != nil:
			if v, err := intstr.GetScaledValueFromIntOrPercent(b.Spec.MaxUnavailable, int(minReplicas), true); err != nil || v < 1 {
				f.addf("PodDisruptionBudget %s allows no eviction (maxUnavailable %s): nodes could never drain", b.Name, b.Spec.MaxUnavailable.String())
			}
		case b.Spec.MinAvailable != nil:
			if v, err := intstr.GetScaledValueFromIntOrPercent(b.Spec.MinAvailable, int(minReplicas), true); err != nil || v >= int(minReplicas) || v < 1 {
				f.addf("PodDisruptionBudget %s: minAvailable %s with %d replicas allows no eviction, or keeps none", b.Name, b.Spec.MinAvailable.String(), minReplicas)
			}
		default:
			f.addf("PodDisruptionBudget %s sets neither maxUnavailable nor minAvailable", b.Name)
		}
	}
	for name, app := range deployApps {
		if app.bff != "" && budgeted[name] != 1 {
			f.addf("Deployment %s: %d PodDisruptionBudgets select its pods, want 1 (no PodDisruptionBudget of its own)", name, budgeted[name])
		}
	}
}

// netPeer is a pod that may try to connect.
type netPeer struct {
	name             string
	labels, nsLabels map[string]string
}

func checkDeployNetworkPolicy(s *deployStack, f *findings) {
	ns := map[string]string{"kubernetes.io/metadata.name": deployNamespace}
	var peers []netPeer
	for _, name := range deployAppNames() {
		if d := s.deployments[name]; d != nil {
			peers = append(peers, netPeer{name, d.Spec.Template.Labels, ns})
		}
	}
	prometheus := netPeer{"prometheus", map[string]string{"app.kubernetes.io/name": "prometheus"}, map[string]string{"kubernetes.io/metadata.name": "monitoring"}}
	peers = append(peers, prometheus,
		netPeer{"a pod of another namespace", map[string]string{"app.kubernetes.io/name": "other"}, map[string]string{"kubernetes.io/metadata.name": "other"}},
		netPeer{"another pod of the namespace", map[string]string{"app.kubernetes.io/name": "other"}, ns},
	)
	for _, name := range deployAppNames() {
		d := s.deployments[name]
		c := deployContainer(d)
		if c == nil {
			continue
		}
		for _, port := range []string{"http", "admin"} {
			cp, ok := deployContainerPort(c, port)
			if !ok {
				continue
			}
			want := []string{"prometheus"} // every admin port: Prometheus only
			if port == "http" {
				want = nil
				for _, p := range peers {
					if deployApps[name].bff != "" || slices.Contains(deployApps[p.name].calls, name) {
						want = append(want, p.name) // a BFF's public port: anyone
					}
				}
			}
			var got []string
			for _, p := range peers {
				if s.allows(d, cp, p, f) {
					got = append(got, p.name)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				f.addf("%s:%s (%d) is open to %v, want %v", name, port, cp.ContainerPort, got, want)
			}
		}
	}
}

// allows reports whether the NetworkPolicies let from connect to port of
// d's pods. An ipBlock is taken to match every peer.
func (s *deployStack) allows(d *appsv1.Deployment, port corev1.ContainerPort, from netPeer, f *findings) bool {
	selector := func(ls *metav1.LabelSelector) labels.Selector {
		sel, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			f.addf("NetworkPolicy selector %v: %v", ls, err)
			return labels.Nothing()
		}
		return sel
	}
	isolated := false
	for _, pol := range s.policies {
		ingress := len(pol.Spec.PolicyTypes) == 0 || slices.Contains(pol.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
		if !ingress || !selector(&pol.Spec.PodSelector).Matches(labels.Set(d.Spec.Template.Labels)) {
			continue
		}
		isolated = true
		for _, rule := range pol.Spec.Ingress {
			portOK := len(rule.Ports) == 0
			for _, p := range rule.Ports {
				if p.Port == nil || (p.Port.Type == intstr.String && p.Port.StrVal == port.Name) || (p.Port.Type == intstr.Int && p.Port.IntVal == port.ContainerPort) {
					portOK = portOK || p.Protocol == nil || *p.Protocol == port.Protocol || (*p.Protocol == corev1.ProtocolTCP && port.Protocol == "")
				}
			}
			if !portOK {
				continue
			}
			if len(rule.From) == 0 {
				return true
			}
			for _, peer := range rule.From {
				if peer.IPBlock != nil {
					return true
				}
				nsOK := from.nsLabels["kubernetes.io/metadata.name"] == deployNamespace
				if peer.NamespaceSelector != nil {
					nsOK = selector(peer.NamespaceSelector).Matches(labels.Set(from.nsLabels))
				}
				podOK := peer.PodSelector == nil || selector(peer.PodSelector).Matches(labels.Set(from.labels))
				if nsOK && podOK {
					return true
				}
			}
		}
	}
	return !isolated
}

func checkDeployDockerfile(s *deployStack, f *findings) {
	if len(s.dockerfile) == 0 {
		f.addf("%s: no instructions", deployDockerfile)
		return
	}
	final := s.dockerfile[len(s.dockerfile)-1].stage
	var user, entrypoint string
	cgo := false
	for _, in := range s.dockerfile {
		switch {
		case in.cmd == "FROM":
			image, _, _ := strings.Cut(in.args, " ")
			if image == "scratch" {
				break
			}
			name, tag, _ := splitImage(image)
			if strings.Contains(image, "$") || !pinnedImage(image) {
				f.addf("%s:%d: FROM %s is not pinned to a version tag (or digest)", deployDockerfile, in.line, image)
			}
			if in.stage == final && !strings.HasPrefix(name, "gcr.io/distroless/static") || in.stage == final && strings.Contains(tag, "debug") {
				f.addf("%s:%d: the final stage is FROM %s: want gcr.io/distroless/static (no shell) or scratch", deployDockerfile, in.line, image)
			}
		case in.stage == final && (in.cmd == "RUN" || in.cmd == "SHELL"):
			f.addf("%s:%d: %s in the final stage: it has no shell, and must need none", deployDockerfile, in.line, in.cmd)
		case in.stage == final && in.cmd == "USER":
			user = in.args
		case in.stage == final && in.cmd == "ENTRYPOINT":
			entrypoint = in.args
		case in.stage != final && in.cmd == "RUN" && strings.Contains(in.args, "go build"):
			cgo = strings.Contains(in.args, "CGO_ENABLED=0 ")
		}
	}
	if uid := deployDockerUser(s.dockerfile); uid == "" || uid == "0" {
		f.addf("%s: the final stage's USER is %q: want a numeric user other than 0 (runAsNonRoot checks it)", deployDockerfile, user)
	}
	if !strings.HasPrefix(entrypoint, "[") {
		f.addf("%s: ENTRYPOINT %q: want the exec form ([\"/server\"]); the shell form needs a shell", deployDockerfile, entrypoint)
	}
	if !cgo {
		f.addf("%s: the go build is not run with CGO_ENABLED=0 (a static binary for distroless static)", deployDockerfile)
	}
	pkgs := dockerPackages(s.dockerfile)
	for _, name := range deployAppNames() {
		bin := deployApps[name].binary
		pkg, ok := pkgs[bin]
		if !ok {
			f.addf("%s does not build %s (BINARY=%s)", deployDockerfile, name, bin)
			continue
		}
		if !deployIsMain(filepath.Join(s.repoRoot, filepath.FromSlash(pkg))) {
			f.addf("%s builds %s for BINARY=%s: not a main package", deployDockerfile, pkg, bin)
		}
	}
}

// --- helpers ---

// deployContainer returns a Deployment's one container, or nil (the
// objects check reports other counts).
func deployContainer(d *appsv1.Deployment) *corev1.Container {
	if d == nil || len(d.Spec.Template.Spec.Containers) != 1 {
		return nil
	}
	return &d.Spec.Template.Spec.Containers[0]
}

// deployContainerPort returns the container's port of that name.
func deployContainerPort(c *corev1.Container, name string) (corev1.ContainerPort, bool) {
	for _, p := range c.Ports {
		if p.Name == name {
			return p, true
		}
	}
	return corev1.ContainerPort{}, false
}

// deployPortOf returns the container port a probe's or a Service's port
// (a name or a number) designates.
func deployPortOf(c *corev1.Container, port intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return p, true
		}
	}
	return corev1.ContainerPort{}, false
}

// deployMountOf returns the mount (and its volume) that holds the path p.
func deployMountOf(d *appsv1.Deployment, c *corev1.Container, p string) (*corev1.VolumeMount, *corev1.Volume) {
	var best *corev1.VolumeMount
	for i, vm := range c.VolumeMounts {
		mp := path.Clean(vm.MountPath)
		if (p == mp || strings.HasPrefix(p, mp+"/")) && (best == nil || len(mp) > len(path.Clean(best.MountPath))) {
			best = &c.VolumeMounts[i]
		}
	}
	if best == nil {
		return nil, nil
	}
	for i, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == best.Name {
			return best, &d.Spec.Template.Spec.Volumes[i]
		}
	}
	return nil, nil
}

// deployMountedConfig returns the content of the file at p as the pod sees
// it: a key of a ConfigMap the build holds.
func (s *deployStack) deployMountedConfig(d *appsv1.Deployment, c *corev1.Container, p string) ([]byte, error) {
	vm, vol := deployMountOf(d, c, p)
	if vm == nil || vol.ConfigMap == nil {
		return nil, fmt.Errorf("%s is on no ConfigMap volume", p)
	}
	key := strings.TrimPrefix(p, path.Clean(vm.MountPath)+"/")
	if vm.SubPath != "" {
		key = vm.SubPath
	}
	for _, it := range vol.ConfigMap.Items {
		if it.Path == key {
			key = it.Key
		}
	}
	cm := s.configMaps[vol.ConfigMap.Name]
	if cm == nil {
		return nil, fmt.Errorf("%s: the build has no ConfigMap %s", p, vol.ConfigMap.Name)
	}
	v, ok := cm.Data[key]
	if !ok {
		return nil, fmt.Errorf("%s: ConfigMap %s has no key %s", p, cm.Name, key)
	}
	return []byte(v), nil
}

// deploySecretSource gives the value of a variable set from a Secret.
type deploySecretSource func(s *deployStack, env string, ref *corev1.SecretKeySelector) string

// deployDummySecret stands for the real Secrets: valid values of the right
// form, so that what is checked is the rest of the configuration.
func deployDummySecret(_ *deployStack, env string, _ *corev1.SecretKeySelector) string {
	return map[string]string{
		"REDIS_URL":     "redis://redis:6379",
		"SESSION_KEYS":  "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, config.SessionKeyBytes)),
		"SERVICE_TOKEN": "a-test-service-token-0123456789",
	}[env]
}

// deployExampleSecret reads the placeholders of the Secrets example.
func deployExampleSecret(s *deployStack) deploySecretSource {
	return func(_ *deployStack, _ string, ref *corev1.SecretKeySelector) string {
		if sec := s.secrets[ref.Name]; sec != nil {
			return sec.StringData[ref.Key]
		}
		return ""
	}
}

// deployEnv returns the container's environment as the binary would see
// it, secrets from secret.
func deployEnv(s *deployStack, c *corev1.Container, secret deploySecretSource) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = secret(s, e.Name, e.ValueFrom.SecretKeyRef)
		case e.ValueFrom.ResourceFieldRef != nil:
			env[e.Name] = "268435456" // a limit, in bytes or cores
		default:
			env[e.Name] = "from-the-downward-api"
		}
	}
	return env
}

// deployAppConfig is what the test needs of a binary's configuration, as
// its own code parses it from the Deployment's environment.
type deployAppConfig struct {
	listen, admin, dataDir string
	issuer, audience       string
	urls                   map[string]string // by the Deployment called
	bff                    config.Config     // a BFF's whole configuration
}

// loadDeployApp parses the configuration of the Deployment's binary with
// the binary's own code (config.Load, or the service's ParseConfig) from the
// Deployment's environment and, for a BFF, its mounted configuration file.
func loadDeployApp(s *deployStack, name string, app deployApp, secret deploySecretSource) (deployAppConfig, error) {
	d := s.deployments[name]
	c := deployContainer(d)
	if c == nil {
		return deployAppConfig{}, fmt.Errorf("no single container")
	}
	env := deployEnv(s, c, secret)
	getenv := func(k string) string { return env[k] }
	if app.bff == "" {
		return parseDeployService(app.binary, getenv)
	}
	file := ""
	if p := env["BFF_CONFIG"]; p != "" {
		b, err := s.deployMountedConfig(d, c, p)
		if err != nil {
			return deployAppConfig{}, fmt.Errorf("BFF_CONFIG: %w", err)
		}
		tmp, err := os.CreateTemp(s.tempDir, name+"-*.yaml")
		if err != nil {
			return deployAppConfig{}, err
		}
		_, err = tmp.Write(b)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return deployAppConfig{}, err
		}
		file = tmp.Name()
	}
	cfg, err := config.Load(app.bff, file, getenv)
	if err != nil {
		return deployAppConfig{}, err
	}
	return deployAppConfig{
		listen: cfg.ListenAddr, admin: cfg.AdminAddr,
		issuer: cfg.Auth.Issuer, audience: cfg.Auth.Audience,
		urls: map[string]string{
			"user-service":    cfg.Services.UserURL,
			"order-service":   cfg.Services.OrderURL,
			"product-service": cfg.Services.ProductURL,
		},
		bff: cfg,
	}, nil
}

// parseDeployService parses a service's configuration with its own
// ParseConfig (flags and environment, validated as in production).
func parseDeployService(binary string, getenv func(string) string) (deployAppConfig, error) {
	var out deployAppConfig
	set := func(listen, admin, dataDir, issuer, audience, user, order, product string) {
		out = deployAppConfig{listen: listen, admin: admin, dataDir: dataDir, issuer: issuer, audience: audience,
			urls: map[string]string{"user-service": user, "order-service": order, "product-service": product}}
	}
	var err error
	switch binary {
	case "user":
		var c usersvc.Config
		c, err = usersvc.ParseConfig(nil, getenv)
		set(c.ListenAddr, c.AdminAddr, c.DataDir, c.Issuer, c.Audience, c.UserURL, c.OrderURL, c.ProductURL)
	case "order":
		var c ordersvc.Config
		c, err = ordersvc.ParseConfig(nil, getenv)
		set(c.ListenAddr, c.AdminAddr, c.DataDir, c.Issuer, c.Audience, c.UserURL, c.OrderURL, c.ProductURL)
	case "product":
		var c productsvc.Config
		c, err = productsvc.ParseConfig(nil, getenv)
		set(c.ListenAddr, c.AdminAddr, c.DataDir, c.Issuer, c.Audience, c.UserURL, c.OrderURL, c.ProductURL)
	default:
		err = fmt.Errorf("no service %s", binary)
	}
	return out, err
}

// resolveURL returns the Deployment a base URL reaches through a Service
// of the build: by the Service's name (alone, or qualified with the
// namespace), on a port of the Service that leads to the public port.
func (s *deployStack) resolveURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Hostname() == "" {
		return "", fmt.Errorf("not an http:// URL")
	}
	host := u.Hostname()
	name, rest, _ := strings.Cut(host, ".")
	if rest != "" && rest != deployNamespace && !strings.HasPrefix(rest, deployNamespace+".svc") {
		return "", fmt.Errorf("host %s is not a Service of the namespace", host)
	}
	svc := s.services[name]
	if svc == nil {
		return "", fmt.Errorf("the build has no Service %s", name)
	}
	if u.Port() == "" {
		return "", fmt.Errorf("no port: the services do not listen on 80")
	}
	selected := s.selectedBy(svc.Spec.Selector)
	if len(selected) != 1 {
		return "", fmt.Errorf("Service %s selects %v", name, selected)
	}
	c := deployContainer(s.deployments[selected[0]])
	for _, p := range svc.Spec.Ports {
		if strconv.Itoa(int(p.Port)) != u.Port() {
			continue
		}
		if cp, ok := deployPortOf(c, p.TargetPort); !ok || cp.Name != "http" {
			return "", fmt.Errorf("port %s of Service %s leads to %s, not to the public port", u.Port(), name, p.TargetPort.String())
		}
		return selected[0], nil
	}
	return "", fmt.Errorf("Service %s has no port %s", name, u.Port())
}

// selectedBy returns the Deployments whose pods a Service selector
// matches; an empty selector matches none.
func (s *deployStack) selectedBy(selector map[string]string) []string {
	var out []string
	if len(selector) == 0 {
		return nil
	}
	for _, d := range s.deployments {
		if labels.SelectorFromSet(selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, d.Name)
		}
	}
	slices.Sort(out)
	return out
}

// deployDockerUser returns the numeric user of the Dockerfile's final
// stage ("" when it sets none, or not a number).
func deployDockerUser(instructions []dockerInstruction) string {
	if len(instructions) == 0 {
		return ""
	}
	final := instructions[len(instructions)-1].stage
	uid := ""
	for _, in := range instructions {
		if in.stage == final && in.cmd == "USER" {
			u, _, _ := strings.Cut(in.args, ":")
			uid = u
			if _, err := strconv.Atoi(u); err != nil {
				uid = ""
			}
		}
	}
	return uid
}

// deployIsMain reports whether dir holds a main package.
func deployIsMain(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err == nil && bytes.Contains(b, []byte("\npackage main\n")) {
				return true
			}
		}
	}
	return false
}

// splitImage splits an image reference into its name, tag and digest.
func splitImage(ref string) (name, tag, digest string) {
	name, digest, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag, digest
}

// pinnedImage reports whether an image reference names one version: a
// sha256 digest, or a tag other than latest.
func pinnedImage(ref string) bool {
	_, tag, digest := splitImage(ref)
	return strings.HasPrefix(digest, "sha256:") || (tag != "" && tag != "latest")
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

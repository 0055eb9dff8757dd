package e2e_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/acme/bff-gateway/internal/bff/config"
)

// The deployment artefacts under test, relative to the repository root.
const (
	deployKustomization = "deploy/k8s/base"
	deployDockerfile    = "deploy/docker/Dockerfile"
	// deploySecretsExample is the Secrets the Deployments read, as an
	// example that is deliberately not a resource of the kustomization.
	deploySecretsExample = "deploy/k8s/base/secrets.example.yaml"
	// deployNamespace is where the test assumes the stack is applied (the
	// base sets none).
	deployNamespace = "bff-gateway"
)

// deployApp is one of the five binaries as the manifests run it.
type deployApp struct {
	// binary is the Dockerfile's BINARY, the image's last path element
	// and the name make build gives it.
	binary string
	// bff is the BFF's kind; "" for a service.
	bff config.Kind
	// calls are the Deployments whose Services this one calls (README:
	// the BFFs call all three services; the order service takes stock at
	// the product service; order and product verify tokens against the
	// user service's JWKS).
	calls []string
}

// deployApps are the five Deployments, by name.
var deployApps = map[string]deployApp{
	"bff-web":         {binary: "bff-web", bff: config.Web, calls: []string{"user-service", "order-service", "product-service"}},
	"bff-mobile":      {binary: "bff-mobile", bff: config.Mobile, calls: []string{"user-service", "order-service", "product-service"}},
	"user-service":    {binary: "user"},
	"order-service":   {binary: "order", calls: []string{"user-service", "product-service"}},
	"product-service": {binary: "product", calls: []string{"user-service"}},
}

// deployAppNames returns the Deployments' names, sorted.
func deployAppNames() []string {
	names := make([]string, 0, len(deployApps))
	for n := range deployApps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// deployStack is the kustomization built and decoded into the Kubernetes
// API types, with the Secrets example and the Dockerfile beside it.
type deployStack struct {
	deployments  map[string]*appsv1.Deployment
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	claims       map[string]*corev1.PersistentVolumeClaim
	budgets      map[string]*policyv1.PodDisruptionBudget
	autoscalers  map[string]*autoscalingv2.HorizontalPodAutoscaler
	policies     map[string]*networkingv1.NetworkPolicy
	secrets      map[string]*corev1.Secret // of the example, not of the build
	built        []deployObject            // every object of the build, in order
	dockerfile   []dockerInstruction
	repoRoot     string
	tempDir      string
	builtSecrets []string // Secrets the build holds (it must hold none)
}

// deployObject is one object of the build, for the checks every object
// gets (labels).
type deployObject struct {
	kind, name string
	labels     map[string]string
}

// deploySources returns the files the stack is built from: every file
// under deploy/k8s/base and the Dockerfile, by path relative to the
// repository root. The mutation test edits them in memory.
func deploySources(root string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(filepath.Join(root, filepath.FromSlash(deployKustomization)), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(deployDockerfile)))
	if err != nil {
		return nil, err
	}
	files[deployDockerfile] = b
	return files, nil
}

// buildDeploy builds the kustomization of files offline (krusty, on an
// in-memory file system) and decodes every object strictly: an unknown or
// misspelt field, or a kind the test does not know, is an error.
func buildDeploy(root, tempDir string, files map[string][]byte) (*deployStack, error) {
	mem := filesys.MakeFsInMemory()
	for name, b := range files {
		if !strings.HasPrefix(name, deployKustomization+"/") {
			continue
		}
		if err := mem.WriteFile("/"+name, b); err != nil {
			return nil, err
		}
	}
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, "/"+deployKustomization)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", deployKustomization, err)
	}
	s := &deployStack{
		deployments: map[string]*appsv1.Deployment{},
		services:    map[string]*corev1.Service{},
		configMaps:  map[string]*corev1.ConfigMap{},
		claims:      map[string]*corev1.PersistentVolumeClaim{},
		budgets:     map[string]*policyv1.PodDisruptionBudget{},
		autoscalers: map[string]*autoscalingv2.HorizontalPodAutoscaler{},
		policies:    map[string]*networkingv1.NetworkPolicy{},
		secrets:     map[string]*corev1.Secret{},
		repoRoot:    root,
		tempDir:     tempDir,
	}
	var errs []error
	for _, r := range resMap.Resources() {
		b, err := r.AsYAML()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		obj, err := decodeStrict(b, r.GetApiVersion(), r.GetKind())
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", r.GetKind(), r.GetName(), err))
			continue
		}
		name := r.GetName()
		if err := s.add(name, obj); err != nil {
			errs = append(errs, err)
		}
		s.built = append(s.built, deployObject{kind: r.GetKind(), name: name, labels: r.GetLabels()})
	}
	for _, doc := range yamlDocuments(files[deploySecretsExample]) {
		var sec corev1.Secret
		if err := yaml.UnmarshalStrict(doc, &sec); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", deploySecretsExample, err))
			continue
		}
		if sec.APIVersion != "v1" || sec.Kind != "Secret" {
			errs = append(errs, fmt.Errorf("%s: %s/%s is not a v1 Secret", deploySecretsExample, sec.APIVersion, sec.Kind))
			continue
		}
		s.secrets[sec.Name] = &sec
	}
	s.dockerfile, err = parseDockerfile(string(files[deployDockerfile]))
	if err != nil {
		errs = append(errs, err)
	}
	return s, errors.Join(errs...)
}

// decodeStrict decodes one object into its API type, refusing unknown and
// duplicate fields and any apiVersion but the stable one the test expects.
func decodeStrict(b []byte, apiVersion, kind string) (any, error) {
	var obj any
	want := map[string]string{
		"Deployment":              "apps/v1",
		"Service":                 "v1",
		"ConfigMap":               "v1",
		"Secret":                  "v1",
		"PersistentVolumeClaim":   "v1",
		"PodDisruptionBudget":     "policy/v1",
		"HorizontalPodAutoscaler": "autoscaling/v2",
		"NetworkPolicy":           "networking.k8s.io/v1",
	}[kind]
	if want == "" {
		return nil, fmt.Errorf("kind %s: the test knows no such kind (add it to decodeStrict and its checks)", kind)
	}
	if apiVersion != want {
		return nil, fmt.Errorf("apiVersion %s, want %s", apiVersion, want)
	}
	switch kind {
	case "Deployment":
		obj = &appsv1.Deployment{}
	case "Service":
		obj = &corev1.Service{}
	case "ConfigMap":
		obj = &corev1.ConfigMap{}
	case "Secret":
		obj = &corev1.Secret{}
	case "PersistentVolumeClaim":
		obj = &corev1.PersistentVolumeClaim{}
	case "PodDisruptionBudget":
		obj = &policyv1.PodDisruptionBudget{}
	case "HorizontalPodAutoscaler":
		obj = &autoscalingv2.HorizontalPodAutoscaler{}
	case "NetworkPolicy":
		obj = &networkingv1.NetworkPolicy{}
	}
	if err := yaml.UnmarshalStrict(b, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// add files a decoded object under its kind and name.
func (s *deployStack) add(name string, obj any) error {
	dup := false
	switch o := obj.(type) {
	case *appsv1.Deployment:
		_, dup = s.deployments[name]
		s.deployments[name] = o
	case *corev1.Service:
		_, dup = s.services[name]
		s.services[name] = o
	case *corev1.ConfigMap:
		_, dup = s.configMaps[name]
		s.configMaps[name] = o
	case *corev1.Secret:
		s.builtSecrets = append(s.builtSecrets, name)
	case *corev1.PersistentVolumeClaim:
		_, dup = s.claims[name]
		s.claims[name] = o
	case *policyv1.PodDisruptionBudget:
		_, dup = s.budgets[name]
		s.budgets[name] = o
	case *autoscalingv2.HorizontalPodAutoscaler:
		_, dup = s.autoscalers[name]
		s.autoscalers[name] = o
	case *networkingv1.NetworkPolicy:
		_, dup = s.policies[name]
		s.policies[name] = o
	}
	if dup {
		return fmt.Errorf("%T %s is there twice", obj, name)
	}
	return nil
}

// yamlDocuments splits a multi-document YAML file, leaving out documents
// that hold nothing but comments.
func yamlDocuments(b []byte) [][]byte {
	var docs [][]byte
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		for _, line := range strings.Split(doc, "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				docs = append(docs, []byte(doc))
				break
			}
		}
	}
	return docs
}

// dockerInstruction is one instruction of a Dockerfile, continuation
// lines joined and comments left out.
type dockerInstruction struct {
	line  int    // of its first line
	cmd   string // upper case: FROM, RUN, USER, …
	args  string
	stage int // 0 for the first FROM's stage, and so on
}

// parseDockerfile splits a Dockerfile into its instructions.
func parseDockerfile(text string) ([]dockerInstruction, error) {
	var out []dockerInstruction
	stage := -1
	var cur bytes.Buffer
	start := 0
	flush := func() error {
		t := strings.TrimSpace(cur.String())
		cur.Reset()
		if t == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(t, " ")
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		}
		if stage < 0 && cmd != "ARG" {
			return fmt.Errorf("Dockerfile line %d: %s before the first FROM", start, cmd)
		}
		out = append(out, dockerInstruction{line: start, cmd: cmd, args: strings.TrimSpace(args), stage: stage})
		return nil
	}
	for i, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "#") {
			continue // a comment, also between continuation lines
		}
		if cur.Len() == 0 {
			if t == "" {
				continue
			}
			start = i + 1
		}
		if strings.HasSuffix(t, `\`) {
			cur.WriteString(strings.TrimSuffix(t, `\`) + " ")
			continue
		}
		cur.WriteString(t)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if stage < 0 {
		return nil, errors.New("Dockerfile: no FROM")
	}
	return out, nil
}

// dockerPackages returns the package path the Dockerfile builds for each
// BINARY its case statement names (`bff-web|bff-mobile) pkg="./${BINARY}"`).
func dockerPackages(instructions []dockerInstruction) map[string]string {
	out := map[string]string{}
	branch := regexp.MustCompile(`([a-z][a-z|-]*)\)\s*pkg="([^"]+)"`)
	for _, in := range instructions {
		if in.cmd != "RUN" {
			continue
		}
		for _, m := range branch.FindAllStringSubmatch(in.args, -1) {
			for _, bin := range strings.Split(m[1], "|") {
				out[bin] = path.Clean(strings.ReplaceAll(m[2], "${BINARY}", bin))
			}
		}
	}
	return out
}

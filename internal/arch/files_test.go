package arch

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxTrackedBytes bounds a tracked file: anything larger is a build output
// or a data file committed by accident.
const maxTrackedBytes = 1 << 20

// bundle is the playground's committed build, the one place large files
// belong (internal/bff/playground/web builds it; make test checks it).
const bundle = "internal/bff/playground/dist/"

func TestNoLargeFileIsTracked(t *testing.T) {
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("not a git checkout")
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	cmd := exec.Command(git, "ls-files", "-z")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range bytes.Split(bytes.TrimRight(out, "\x00"), []byte{0}) {
		path := string(name)
		if strings.HasPrefix(path, bundle) {
			continue
		}
		fi, err := os.Stat(filepath.Join(root, path))
		if err != nil {
			continue // deleted in the working tree
		}
		if fi.Size() > maxTrackedBytes {
			t.Errorf("%s is tracked and %d bytes: a build output? (at most %d outside %s)", path, fi.Size(), maxTrackedBytes, bundle)
		}
	}
}

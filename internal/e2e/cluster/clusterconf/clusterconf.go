// Package clusterconf is what the cluster test harness (package cluster)
// and `make run-cluster` (internal/tools/devstack) share, apart from
// package testing so that a command can import it: where redis-server and
// haproxy are and which Debian packages bring them, redis-server's
// command line, HAProxy's configuration and the server states of its
// stats page, and web session keys.
package clusterconf

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// sbinDirs are searched after PATH: Debian installs haproxy in /usr/sbin,
// which an ordinary user's PATH often lacks.
var sbinDirs = []string{"/usr/sbin", "/usr/local/sbin", "/sbin"}

// debianPackages name the package that brings each program the cluster
// runs.
var debianPackages = map[string]string{
	"redis-server": "redis-server",
	"haproxy":      "haproxy",
}

// DebianPackage returns the Debian package that installs program (the
// program's own name when it is not one the cluster runs).
func DebianPackage(program string) string {
	if p, ok := debianPackages[program]; ok {
		return p
	}
	return program
}

// LookPath returns the path of program, found on PATH or else in
// /usr/sbin, /usr/local/sbin or /sbin. Its error names the Debian package
// to install.
func LookPath(program string) (string, error) {
	if p, err := exec.LookPath(program); err == nil {
		return p, nil
	}
	for _, dir := range sbinDirs {
		p := filepath.Join(dir, program)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s (not on PATH, nor in %v): apt-get install %s",
		ErrNotInstalled, program, sbinDirs, DebianPackage(program))
}

// ErrNotInstalled is what LookPath's errors wrap.
var ErrNotInstalled = errors.New("not installed")

// NewSessionKey returns a fresh value for SESSION_KEYS: one key, "k1:"
// and 32 random bytes in standard base64.
func NewSessionKey() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	return "k1:" + base64.StdEncoding.EncodeToString(b[:])
}

// RedisArgs is the command line of a throwaway redis-server on
// 127.0.0.1:port with dir as its working directory: no configuration
// file, nothing saved (no RDB snapshots, no append-only file), and no
// protected mode (it listens on loopback only, without a password).
func RedisArgs(port int, dir string) []string {
	return []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--protected-mode", "no",
	}
}

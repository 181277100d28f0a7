package pgcluster

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Someone other than the owner must be able to pass through every folder
// above a cluster; the first private one is named.
func TestUnreachableNamesThePrivateFolder(t *testing.T) {
	root := openTempDir(t)
	private := filepath.Join(root, "private")
	open := filepath.Join(private, "open")
	if err := os.MkdirAll(open, 0o755); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(private, 0o700))
	other := os.Getuid() + 12345 // neither the owner nor in the owner's group

	got, err := Unreachable(filepath.Join(open, "not-yet", "pg"), other, nil)
	must(err)
	if got != private {
		t.Errorf("Unreachable under a 0700 folder = %q, want %q", got, private)
	}
	if got, _ := Unreachable(filepath.Join(open, "pg"), os.Getuid(), nil); got != "" {
		t.Errorf("the owner is refused at %q", got)
	}
	// Group members pass with g+x; everyone else needs o+x.
	must(os.Chmod(private, 0o710))
	if got, _ := Unreachable(open, other, []int{os.Getgid()}); got != "" {
		t.Errorf("a group member with g+x is refused at %q", got)
	}
	if got, _ := Unreachable(open, other, nil); got != private {
		t.Errorf("Unreachable with g+x only, for a stranger = %q, want %q", got, private)
	}
	must(os.Chmod(private, 0o711))
	if got, _ := Unreachable(open, other, nil); got != "" {
		t.Errorf("o+x still refused at %q", got)
	}
}

// As root, initdb runs as postgres: a data directory inside a private
// folder must fail with a message that names the folder and the fixes,
// before initdb's bare "Permission denied".
func TestInitInsidePrivateFolderExplainsTheFix(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs the server as another user (postgres); as an ordinary user the cluster is always reachable")
	}
	if _, err := FindBinDir(); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(openTempDir(t), "private")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	c, err := New(filepath.Join(root, "dev", "pg", "data"))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Init(context.Background())
	if err == nil {
		t.Fatal("Init inside a 0700 folder as root = nil, want an explanation")
	}
	for _, want := range []string{root, "0700", "chmod o+x " + root, "-data", `"postgres"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "initdb") {
		t.Errorf("initdb ran anyway:\n%v", err)
	}
	// Following the advice works.
	if err := os.Chmod(root, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := c.Init(context.Background()); err != nil {
		t.Fatalf("Init after chmod o+x = %v", err)
	}
	if !c.Exists() {
		t.Error("no cluster after Init")
	}
}

// openTempDir is a temporary folder that anyone may pass through (t.TempDir
// and its parent are 0700).
func openTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

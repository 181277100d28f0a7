package handlers

import (
	"strings"
	"testing"
	"time"
)

// countingStore is an scs.Store in memory that counts writes.
type countingStore struct {
	rows    map[string][]byte
	commits int
}

func (c *countingStore) Find(token string) ([]byte, bool, error) {
	b, ok := c.rows[token]
	return b, ok, nil
}

func (c *countingStore) Commit(token string, b []byte, expiry time.Time) error {
	c.commits++
	c.rows[token] = b
	return nil
}

func (c *countingStore) Delete(token string) error {
	delete(c.rows, token)
	return nil
}

// The store keeps hashes, never tokens, and writes an unchanged session
// only when its idle expiry has moved a minute: not on every page view.
func TestHashedStoreCoalescesIdleCommits(t *testing.T) {
	inner := &countingStore{rows: map[string][]byte{}}
	s := newHashedStore(inner)
	now := time.Now()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Commit("tok", []byte("a"), now.Add(time.Hour)))
	for i := 1; i <= 10; i++ { // ten page views within half a minute
		must(s.Commit("tok", []byte("a"), now.Add(time.Hour+time.Duration(i)*3*time.Second)))
	}
	if inner.commits != 1 {
		t.Errorf("%d writes for 11 views of an unchanged session within a minute, want 1", inner.commits)
	}
	must(s.Commit("tok", []byte("b"), now.Add(time.Hour+31*time.Second)))
	if inner.commits != 2 {
		t.Errorf("changed data was not written (%d writes)", inner.commits)
	}
	must(s.Commit("tok", []byte("b"), now.Add(time.Hour+31*time.Second+commitEvery)))
	if inner.commits != 3 {
		t.Errorf("an expiry moved by a minute was not written (%d writes)", inner.commits)
	}
	must(s.Delete("tok"))
	must(s.Commit("tok", []byte("b"), now.Add(time.Hour+32*time.Second+commitEvery)))
	if inner.commits != 4 {
		t.Errorf("a session written again after its deletion was skipped (%d writes)", inner.commits)
	}
	for k := range inner.rows {
		if !strings.HasPrefix(k, "sha256:") || strings.Contains(k, "tok") {
			t.Errorf("stored under %q, want the token's hash", k)
		}
	}
}

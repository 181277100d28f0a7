package seal

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k, err := ParseKey(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(k)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.canary")
	a := s.Seal(plain, []byte("run:1"))
	b := s.Seal(plain, []byte("run:1"))
	if bytes.Contains(a, plain) || bytes.Equal(a, b) {
		t.Fatalf("sealed value shows the plaintext or repeats its nonce")
	}
	got, err := s.Open(a, []byte("run:1"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// Another row's associated data, a flipped bit, a truncated value, another key: all refused.
	if _, err := s.Open(a, []byte("run:2")); !errors.Is(err, ErrOpen) {
		t.Errorf("Open with other aad: %v, want ErrOpen", err)
	}
	bad := bytes.Clone(a)
	bad[len(bad)-1] ^= 1
	if _, err := s.Open(bad, []byte("run:1")); !errors.Is(err, ErrOpen) {
		t.Errorf("Open tampered: %v, want ErrOpen", err)
	}
	if _, err := s.Open(a[:5], []byte("run:1")); !errors.Is(err, ErrOpen) {
		t.Errorf("Open truncated: %v, want ErrOpen", err)
	}
	k2, _ := ParseKey(NewKey())
	s2, _ := New(k2)
	if _, err := s2.Open(a, []byte("run:1")); !errors.Is(err, ErrOpen) {
		t.Errorf("Open with other key: %v, want ErrOpen", err)
	}
}

func TestParseKey(t *testing.T) {
	for _, in := range []string{"", "not base64!", "c2hvcnQ="} {
		if _, err := ParseKey(in); err == nil {
			t.Errorf("ParseKey(%q) succeeded", in)
		}
	}
	if _, err := ParseKey("  " + NewKey() + "\n"); err != nil {
		t.Errorf("ParseKey with white space: %v", err)
	}
	if _, err := New(make([]byte, 16)); err == nil {
		t.Error("New accepted a 16-byte key")
	}
}

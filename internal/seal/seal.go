// Package seal encrypts small values the portal must keep for a while but
// never in plaintext: a wizard run's delegated token and a one-time share
// link's secret. It is AES-256-GCM with a random nonce and associated data
// that binds each sealed value to its row, so a value copied into another
// row does not open there.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the key length: AES-256.
const KeySize = 32

// ErrOpen is returned for a value that does not open with this key and
// associated data (tampered, another row's, or sealed with another key).
var ErrOpen = errors.New("seal: value does not open with this key and row")

// Sealer seals and opens values with one key.
type Sealer struct {
	aead cipher.AEAD
}

// New returns a Sealer for a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// ParseKey decodes a key given as standard or URL-safe base64 (what
// `openssl rand -base64 32` prints), ignoring surrounding white space.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("seal: key must be %d bytes (base64 of `openssl rand -base64 32`), got %d", KeySize, len(k))
			}
			return k, nil
		}
	}
	return nil, errors.New("seal: key is not base64 (make one with `openssl rand -base64 32`)")
}

// NewKey returns a fresh random key, base64-encoded (for `portal dev`).
func NewKey() string {
	k := make([]byte, KeySize)
	_, _ = rand.Read(k) // never fails
	return base64.StdEncoding.EncodeToString(k)
}

// Seal encrypts plain, bound to aad (for example "registration-token:" + run ID).
func (s *Sealer) Seal(plain, aad []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, aad)
}

// Open decrypts a value sealed with the same key and aad.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrOpen
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

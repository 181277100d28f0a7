package entrasim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// signingKey is the RS256 key tokens are signed with. Entra signs tokens of every tenant with the same
// published keys, so one key per process is faithful and keeps New cheap (RSA key generation is slow).
type signingKey struct {
	priv   *rsa.PrivateKey
	cert   *x509.Certificate
	kid    string
	signer jose.Signer
	// atSigner signs v1.0 access tokens, whose header also carries the legacy x5t (equal to kid), which
	// Entra emits only in v1.0 access tokens (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference).
	atSigner jose.Signer
}

var (
	keyOnce sync.Once
	theKey  *signingKey
	keyErr  error
)

func getKey() (*signingKey, error) {
	keyOnce.Do(func() { theKey, keyErr = newSigningKey() })
	return theKey, keyErr
}

func newSigningKey() (*signingKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "accounts.accesscontrol.windows.net"},
		NotBefore:    now.Add(-24 * time.Hour), NotAfter: now.AddDate(5, 0, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("self-sign signing certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(der)
	kid := base64.RawURLEncoding.EncodeToString(sum[:])
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: priv, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	atSigner, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: priv, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t", kid))
	if err != nil {
		return nil, err
	}
	return &signingKey{priv: priv, cert: cert, kid: kid, signer: signer, atSigner: atSigner}, nil
}

func (k *signingKey) sign(claims any) (string, error) {
	return jwt.Signed(k.signer).Claims(claims).Serialize()
}

// signAccess signs a v1.0 access token (header typ, alg, x5t, kid).
func (k *signingKey) signAccess(claims accessClaims) (string, error) {
	return jwt.Signed(k.atSigner).Claims(claims).Serialize()
}

// jwks returns the key set in Entra's shape: kty, use, kid, x5t, n, e, x5c and a per-key issuer
// (https://learn.microsoft.com/entra/identity-platform/access-tokens,
// https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc).
func (k *signingKey) jwks(issuerTemplate string) ([]byte, error) {
	sum := sha1.Sum(k.cert.Raw)
	jwk := jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Use: "sig", Certificates: []*x509.Certificate{k.cert},
		CertificateThumbprintSHA1: sum[:]}
	raw, err := jwk.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	delete(m, "alg") // Entra's keys carry no alg
	m["issuer"] = issuerTemplate
	return json.Marshal(map[string]any{"keys": []any{m}})
}

func (k *signingKey) verify(token string, dest any) error {
	t, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return err
	}
	return t.Claims(&k.priv.PublicKey, dest)
}

// NewCertificate returns a self-signed RSA certificate (DER) and its private key valid from start to end,
// for certificate credentials (keyCredentials) in seeds and tests.
func NewCertificate(commonName string, start, end time.Time) ([]byte, *rsa.PrivateKey, error) {
	k, err := certKey()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: commonName},
		NotBefore: start, NotAfter: end}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, nil, err
	}
	return der, k, nil
}

var (
	certKeyOnce sync.Once
	certKeyVal  *rsa.PrivateKey
	certKeyErr  error
)

// certKey is one RSA key shared by generated credential certificates (generation is slow; seeds make
// several certificates).
func certKey() (*rsa.PrivateKey, error) {
	certKeyOnce.Do(func() { certKeyVal, certKeyErr = rsa.GenerateKey(rand.Reader, 2048) })
	return certKeyVal, certKeyErr
}

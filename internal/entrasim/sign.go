package entrasim

// SignJWT signs claims with the key the emulator publishes in its JWKS, as
// Entra signs its tokens. Relying-party tests use it to craft a token that
// differs from a genuine one in a single claim (issuer, audience, nonce,
// expiry), so each of their checks can be proven on its own; the emulator
// itself never issues such tokens.
func (s *Sim) SignJWT(claims any) (string, error) {
	k, err := getKey()
	if err != nil {
		return "", err
	}
	return k.sign(claims)
}

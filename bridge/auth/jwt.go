package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// hmacAlgs are the algorithms the JWT secret verifies.
var hmacAlgs = []string{"HS256", "HS384", "HS512"}

// Errors a verifier's key lookup returns, mapped to refusal codes.
var (
	errAlgorithm  = errors.New("no configured key verifies this algorithm")
	errUnknownKid = errors.New("no key of the JWKS has this kid")
)

// verifier checks JWTs with golang-jwt: the signature with the HMAC secret
// or a JWKS key that serves the token's alg (never another: an RS256 token
// is not checked with the secret, an HS256 token never with a public key
// taken as a secret, and alg none with nothing), then exp (required), nbf
// and iat with the leeway, then iss and aud when configured.
type verifier struct {
	secret []byte
	keys   *keySet // nil without a JWKS
	parser *jwt.Parser
}

func newVerifier(c *Config, keys *keySet) *verifier {
	opts := []jwt.ParserOption{
		jwt.WithLeeway(max(c.Leeway, 0)), // negative: none
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
	}
	if c.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(c.Issuer))
	}
	if c.Audience != "" {
		opts = append(opts, jwt.WithAudience(c.Audience))
	}
	return &verifier{secret: c.JWTSecret, keys: keys, parser: jwt.NewParser(opts...)}
}

// verify returns the claims of a valid token, or a refusal that says why
// it is not.
func (v *verifier) verify(ctx context.Context, token string) (map[string]any, *Refusal) {
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		return v.keyFor(ctx, t)
	})
	if err != nil {
		return nil, refusalFor(err)
	}
	return claims, nil
}

// keyFor picks the keys that may verify t, by its alg and kid.
func (v *verifier) keyFor(ctx context.Context, t *jwt.Token) (any, error) {
	alg, _ := t.Header["alg"].(string)
	for _, a := range hmacAlgs {
		if alg == a {
			if len(v.secret) == 0 {
				return nil, fmt.Errorf("%w: %s needs the JWT secret, which is not set", errAlgorithm, alg)
			}
			return v.secret, nil
		}
	}
	if v.keys == nil {
		return nil, fmt.Errorf("%w: %q", errAlgorithm, alg)
	}
	kid, _ := t.Header["kid"].(string)
	found, kidKnown := v.keys.candidates(ctx, kid, alg)
	if !kidKnown {
		return nil, fmt.Errorf("%w: %q", errUnknownKid, kid)
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: %q", errAlgorithm, alg)
	}
	set := jwt.VerificationKeySet{Keys: make([]jwt.VerificationKey, len(found))}
	for i, k := range found {
		set.Keys[i] = k.key
	}
	return set, nil
}

// refusalFor maps golang-jwt's errors to what a client is told.
func refusalFor(err error) *Refusal {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return refuse(CodeMalformed, "the token is not a well-formed JWT", err)
	case errors.Is(err, errUnknownKid):
		return refuse(CodeUnknownKey, "the token's key id (kid) is not in the key set", err)
	case errors.Is(err, errAlgorithm), errors.Is(err, jwt.ErrTokenUnverifiable):
		return refuse(CodeBadAlgorithm, "the token's algorithm is not accepted", err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return refuse(CodeBadSignature, "the token's signature is invalid", err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return refuse(CodeExpired, "the token has expired", err)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return refuse(CodeNotYetValid, "the token is not valid yet (nbf)", err)
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return refuse(CodeIssuedInFuture, "the token is issued in the future (iat)", err)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return refuse(CodeWrongIssuer, "the token's issuer (iss) is not accepted", err)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return refuse(CodeWrongAudience, "the token's audience (aud) is not accepted", err)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return refuse(CodeInvalidClaims, "the token has no expiry (exp)", err)
	default:
		return refuse(CodeInvalidClaims, "the token's claims are invalid", err)
	}
}

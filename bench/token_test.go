package bench

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// parseToken verifies tok as the server does: HS256 only, with secret.
func parseToken(tok, secret string) (*jwt.RegisteredClaims, error) {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return []byte(secret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	return &claims, err
}

func TestSignTokenNamesTheUserAndIsValidForItsLifetime(t *testing.T) {
	now := time.Now()
	tok, err := signToken("s3cret", 42, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := parseToken(tok, "s3cret")
	if err != nil {
		t.Fatalf("the token does not verify: %v", err)
	}
	if claims.Subject != "42" {
		t.Errorf("sub %q, want 42", claims.Subject)
	}
	if got := claims.ExpiresAt.Sub(claims.IssuedAt.Time); got != time.Hour {
		t.Errorf("exp - iat = %v, want 1h", got)
	}
	if _, err := parseToken(tok, "another"); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Errorf("verified with another secret: %v, want a bad signature", err)
	}
	expired, err := signToken("s3cret", 42, now.Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseToken(expired, "s3cret"); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("a token past its lifetime: %v, want expired", err)
	}
}

func TestConnectPacket(t *testing.T) {
	t.Run("without a secret a client connects anonymously", func(t *testing.T) {
		rs := &runState{cfg: Config{Timeout: time.Minute}}
		p, err := rs.connectPacket(0)
		if err != nil || p != "40" {
			t.Errorf("connectPacket = %q, %v; want 40", p, err)
		}
	})
	t.Run("with a secret client i presents a token for user i+1 in its auth payload", func(t *testing.T) {
		rs := &runState{cfg: Config{JWTSecret: "s3cret", Timeout: time.Minute}}
		for _, i := range []int{0, 9999} {
			p, err := rs.connectPacket(i)
			if err != nil {
				t.Fatal(err)
			}
			payload, ok := strings.CutPrefix(p, "40")
			if !ok {
				t.Fatalf("connectPacket(%d) = %q: not a CONNECT", i, p)
			}
			var auth struct {
				Token string `json:"token"`
			}
			if err := json.Unmarshal([]byte(payload), &auth); err != nil {
				t.Fatalf("connectPacket(%d) = %q: the auth payload is not JSON: %v", i, p, err)
			}
			claims, err := parseToken(auth.Token, "s3cret")
			if err != nil {
				t.Fatalf("client %d's token: %v", i, err)
			}
			if want := map[int]string{0: "1", 9999: "10000"}[i]; claims.Subject != want {
				t.Errorf("client %d's sub is %q, want %q", i, claims.Subject, want)
			}
			// It outlives the run, so that a server checking it later
			// does not drop the client mid-run.
			if left := time.Until(claims.ExpiresAt.Time); left < time.Minute {
				t.Errorf("client %d's token expires in %v, before the run's timeout", i, left)
			}
		}
	})
}

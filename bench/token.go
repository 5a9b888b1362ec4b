package bench

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// userID is client i's user: i+1, so that 0 can mean "no user".
func userID(i int) uint64 { return uint64(i) + 1 }

// signToken returns an HS256 JWT for user, signed with secret: "sub" is
// the user id in decimal, "iat" is now and "exp" is now plus ttl.
func signToken(secret string, user uint64, now time.Time, ttl time.Duration) (string, error) {
	claims := jwt.RegisteredClaims{
		Subject:   strconv.FormatUint(user, 10),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		return "", fmt.Errorf("bench: signing user %d's token: %w", user, err)
	}
	return s, nil
}

// connectPacket is the Socket.IO CONNECT packet client i sends: "40", or
// 40{"token":"..."} with a JWT for its user when the run has a secret.
func (rs *runState) connectPacket(i int) (string, error) {
	if rs.cfg.JWTSecret == "" {
		return "40", nil
	}
	// The token outlives the run: a server that checks it again later
	// finds it valid.
	tok, err := signToken(rs.cfg.JWTSecret, userID(i), time.Now(), rs.cfg.Timeout+time.Hour)
	if err != nil {
		return "", err
	}
	auth, err := json.Marshal(struct {
		Token string `json:"token"`
	}{tok})
	if err != nil {
		return "", err
	}
	return "40" + string(auth), nil
}

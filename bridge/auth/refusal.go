package auth

import (
	"encoding/json"
	"fmt"
)

// Code names why a handshake was refused. It is the connect_error's
// data.code, stable for clients to test; the message beside it is for
// people.
type Code string

// The codes a client may see.
const (
	CodeNoToken            Code = "no_token"            // Required, and no credential came
	CodeMalformed          Code = "malformed"           // the token is not a JWT, or the auth payload's token not a string
	CodeBadSignature       Code = "bad_signature"       // the signature does not verify (tampered, wrong key)
	CodeUnknownKey         Code = "unknown_key"         // no key of the JWKS has the token's kid
	CodeBadAlgorithm       Code = "bad_algorithm"       // alg none, or an algorithm no configured key serves
	CodeExpired            Code = "expired"             // exp has passed
	CodeNotYetValid        Code = "not_yet_valid"       // nbf is ahead
	CodeIssuedInFuture     Code = "issued_in_future"    // iat is ahead
	CodeWrongIssuer        Code = "wrong_issuer"        // iss is not Config.Issuer
	CodeWrongAudience      Code = "wrong_audience"      // aud does not hold Config.Audience
	CodeInvalidClaims      Code = "invalid_claims"      // a registered claim has the wrong type
	CodeTooManyRooms       Code = "too_many_rooms"      // more rooms than Config.MaxRooms
	CodeRoomTooLong        Code = "room_too_long"       // a room name longer than Config.MaxRoomLength
	CodeRefused            Code = "refused"             // the authorization service said no
	CodeServiceUnavailable Code = "service_unavailable" // no authorization service answers
	CodeServiceTimeout     Code = "service_timeout"     // the authorization service did not answer in time
	CodeServiceBadReply    Code = "service_bad_reply"   // the authorization service's reply is malformed
	CodeNoJWTVerifier      Code = "no_jwt_verifier"     // a token came but natsock verifies none and asks no service
)

// Refusal is a refused handshake: what the client is told (Code and
// Message, never a secret, a key or the token) and, for the log only,
// the underlying error.
type Refusal struct {
	Code    Code
	Message string
	// Err is the detail behind the refusal, for the server's log; nil when
	// the message says it all.
	Err error
}

func (r *Refusal) Error() string {
	if r.Err != nil {
		return fmt.Sprintf("auth: %s: %s: %v", r.Code, r.Message, r.Err)
	}
	return fmt.Sprintf("auth: %s: %s", r.Code, r.Message)
}

func (r *Refusal) Unwrap() error { return r.Err }

// Data is the connect_error's data: {"code": CODE}.
func (r *Refusal) Data() json.RawMessage {
	b, _ := json.Marshal(struct {
		Code Code `json:"code"`
	}{r.Code})
	return b
}

func refuse(code Code, msg string, err error) *Refusal {
	return &Refusal{Code: code, Message: msg, Err: err}
}

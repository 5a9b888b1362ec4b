// Package auth decides who a socket.io handshake is, and which rooms it
// joins, before the socket connects. It knows nothing of the bridge: the
// bridge gives it a [Handshake] and keeps the [Identity] it returns on the
// socket.
//
// # Credentials
//
// A token is looked for in the sources [Config].Sources enables, first
// hit wins, in this order: the CONNECT auth payload's "token" string
// (socket.io-client's `auth: {token}`), an "Authorization: Bearer" header,
// a named cookie (an HttpOnly session cookie), a named query-string
// parameter (for socket.io v2 clients, which send no auth payload; off
// unless named, since URLs get logged). The default is the auth payload
// and the header. A source that holds something malformed refuses the
// socket; it is never skipped.
//
// # Verification
//
// Tokens are JWTs verified with github.com/golang-jwt/jwt/v5: HS256/384/512
// with [Config].JWTSecret (at least [MinSecretBytes] bytes), RS*, PS*, ES*
// and EdDSA with the keys of a JWKS file or URL ([ParseJWKS], read with
// github.com/go-jose/go-jose/v4). Each key verifies only the algorithms of
// its type (and its "alg", when it names one): alg none, an HS token
// against a public key, an RS token against the secret are all refused,
// with no key tried. exp is required; exp, nbf and iat are checked with
// [Config].Leeway ([DefaultLeeway]); iss and aud when configured.
//
// A token's "kid" picks the keys that have it (and the keys that have
// none); a token without a kid is tried against every key of its
// algorithm.
//
// A JWKS file is checked every [Config].JWKSRefresh for a new modification
// time or size; a URL is fetched again after that interval or its
// Cache-Control max-age, whichever is longer. A token whose kid no key has
// causes one early refresh, at most one per [Config].JWKSMinRefresh. A
// refresh that fails keeps the previous keys and is logged.
//
// # Authorization service
//
// With [Config].Request, each handshake becomes a NATS request carrying a
// [Request] (JSON, version [RequestVersion]); the service answers a
// [Reply] that admits or refuses, and names the user, rooms, claims, data
// and the events the socket may emit. With a JWT secret or JWKS too, the
// token is verified first (a bad one never reaches the service) and the
// service gets its claims and has the last word. Replies are cached per
// credential (its SHA-256, with the namespace) for [Config].CacheTTL, at
// most [Config].CacheSize of them; failures are never cached. A service that
// does not answer within [Config].RequestTimeout, has no responders, or
// answers malformed JSON refuses the socket with its own [Code].
//
// # Rooms
//
// [Template]s such as "user:{sub}" and "team:{teams}" make rooms from the
// final claims: one room per value of an array claim, none for a missing,
// empty or non-scalar one. The service's rooms join them. More than
// [Config].MaxRooms rooms, or a name longer than [Config].MaxRoomLength,
// refuses the socket. Rooms come only from verified claims and the
// service: nothing a client sends (its auth payload, its query, its
// emits) names a room.
//
// # Refusals
//
// A refused handshake gets a [Refusal]: its Message is the client's
// connect_error message, its [Code] the connect_error's data.code. Neither
// ever holds a secret, a key or the token; the detail goes to the log.
// With [Config].Required, a socket without a credential is refused
// (CodeNoToken); without it, such a socket is anonymous (a nil
// *Identity) and joins no rooms, but a socket with a bad credential is
// refused all the same: it is never downgraded to anonymous.
package auth

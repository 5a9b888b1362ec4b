package main

import (
	"time"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/protocol/engine"
)

// options is everything `natsock serve` is told: the bridge's Config, and
// the command's own settings.
type options struct {
	Bridge     bridge.Config
	LogLevel   string
	LogFormat  string
	ConfigFile string // where the file's settings were read from (--config)
	// MetricsListen is the address of a listener serving only /metrics;
	// empty serves /metrics on the main listener (see web.go).
	MetricsListen string
	// Demo serves the demo page at / instead of the short landing page.
	Demo bool
}

// The command's own defaults; the bridge's are bridge's (see
// bridge.DefaultConfig).
const (
	defaultLogLevel  = "info"
	defaultLogFormat = "text"
)

// newOptions is what the sources fill: the command's defaults, and a zero
// bridge.Config whose zero fields the bridge fills with its defaults.
func newOptions() options {
	return options{LogLevel: defaultLogLevel, LogFormat: defaultLogFormat}
}

// defaultOptions is what a setting means when no source gives it, for
// --help: newOptions with the bridge's defaults (its own and its layers')
// filled in.
func defaultOptions() options {
	o := newOptions()
	o.Bridge = bridge.DefaultConfig()
	return o
}

// settings is the table of everything natsock serve and natsock check can
// be told. Each row is a flag, its environment variables (NATSOCK_ and the
// flag's name; see row) and its key in the config file, filling one field
// of options; the flags, the environment, the file's keys and --help are
// all made from it. Adding a setting is adding a row (and the field, with
// its default and doc, in the layer that owns it).
func settings() []*setting {
	b := func(o *options) *bridge.Config { return &o.Bridge }
	e := func(o *options) *engine.Config { return &o.Bridge.SocketIO.Engine }
	return []*setting{
		row("listen", "listen", stringField(func(o *options) *string { return &b(o).Listen }),
			"HTTP address for socket.io, /healthz and /readyz"),
		row("path", "path", stringField(func(o *options) *string { return &b(o).Path }),
			"socket.io endpoint path"),

		row("map", "maps", listField(func(o *options) *[]string { return &b(o).Maps }),
			"SUBJECT=EVENT: emit SUBJECT's messages as EVENT (repeatable)"),
		row("inbound", "inbound", listField(func(o *options) *[]string { return &b(o).Inbound }),
			"EVENT=SUBJECT: publish a client's EVENT to SUBJECT (repeatable)"),
		row("request-timeout", "request_timeout", durationField(func(o *options) *time.Duration { return &b(o).RequestTimeout }),
			"bound on the NATS request behind an acknowledged emit"),
		row("max-inflight-requests", "max_inflight_requests", intField(func(o *options) *int { return &b(o).MaxInflightRequests }),
			"NATS requests behind acknowledged emits waiting for replies, all sockets together; past it an ack gets an error at once"),
		row("max-inflight-requests-per-socket", "max_inflight_requests_per_socket", intField(func(o *options) *int { return &b(o).MaxInflightRequestsPerSocket }),
			"one socket's NATS requests waiting for replies; past it that socket's ack gets an error at once"),
		row("inbound-rate", "inbound_rate.rate", floatField(func(o *options) *float64 { return &b(o).InboundRate }),
			"each socket's inbound events a second (a token bucket; 0: no limit)"),
		row("inbound-burst", "inbound_rate.burst", intField(func(o *options) *int { return &b(o).InboundBurst }),
			"events a socket may emit at once before --inbound-rate applies (0: 10, or the rate rounded up if more)"),
		row("inbound-rate-policy", "inbound_rate.policy", oneOfField(func(o *options) *string { return &b(o).InboundRatePolicy },
			bridge.RatePolicyError, bridge.RatePolicyDisconnect),
			"an event over the rate limit: error (an ack error or the natsock:rate_limited event) or disconnect"),
		row("lifecycle-subject", "lifecycle.subject", stringField(func(o *options) *string { return &b(o).LifecycleSubject }),
			"subject prefix of socket connect/disconnect and node up/down events (empty: none)"),
		row("node-name", "lifecycle.node", stringField(func(o *options) *string { return &b(o).NodeName }),
			"this node's name in lifecycle events"),

		row("nats-url", "nats.url", stringField(func(o *options) *string { return &b(o).NATSURL }),
			"NATS servers, comma-separated; empty starts an embedded NATS server").alsoEnv("NATS_URL"),
		row("embedded-nats-listen", "nats.embedded_listen", stringField(func(o *options) *string { return &b(o).EmbeddedNATSListen }),
			"client address of the embedded NATS server (port 0: any free port)"),
		row("embedded-nats-store-dir", "nats.embedded_store_dir", stringField(func(o *options) *string { return &b(o).EmbeddedNATSStoreDir }),
			"JetStream store directory of the embedded NATS server, which runs JetStream only with --recovery"),
		row("nats-creds", "nats.creds", stringField(func(o *options) *string { return &b(o).NATSCreds }),
			"NATS user credentials file").names(),
		row("nats-nkey", "nats.nkey", stringField(func(o *options) *string { return &b(o).NATSNKey }),
			"NATS nkey seed file").names(),
		row("nats-user", "nats.user", stringField(func(o *options) *string { return &b(o).NATSUser }),
			"NATS user (with --nats-password)"),
		row("nats-password", "nats.password", stringField(func(o *options) *string { return &b(o).NATSPassword }),
			"NATS password").hidden(),
		row("nats-token", "nats.token", stringField(func(o *options) *string { return &b(o).NATSToken }),
			"NATS token").hidden(),
		row("nats-tls-ca", "nats.tls_ca", stringField(func(o *options) *string { return &b(o).NATSTLSCA }),
			"CA file to verify the NATS server").names(),
		row("nats-tls-cert", "nats.tls_cert", stringField(func(o *options) *string { return &b(o).NATSTLSCert }),
			"client certificate file for NATS (with --nats-tls-key)").names(),
		row("nats-tls-key", "nats.tls_key", stringField(func(o *options) *string { return &b(o).NATSTLSKey }),
			"client key file for NATS").names(),
		row("nats-reconnect-buffer", "nats.reconnect_buffer", intField(func(o *options) *int { return &b(o).NATSReconnectBuffer }),
			"bytes of inbound emits held while NATS is away; past it an acknowledged emit gets an error (-1: hold nothing)"),

		row("recovery", "recovery.enabled", boolField(func(o *options) *bool { return &b(o).Recovery }),
			"socket.io connection-state recovery: keep the --map subjects' messages in a JetStream stream and replay what a reconnecting client missed, on any node"),
		row("recovery-window", "recovery.window", durationField(func(o *options) *time.Duration { return &b(o).RecoveryWindow }),
			"how long messages are kept for clients that missed them (the stream's max age); a client away longer gets recovered=false (at least 1s)"),
		row("recovery-stream", "recovery.stream", stringField(func(o *options) *string { return &b(o).RecoveryStream }),
			"name of the JetStream stream over the --map subjects (letters, digits, - and _); natsock creates it"),
		row("recovery-replicas", "recovery.replicas", intField(func(o *options) *int { return &b(o).RecoveryReplicas }),
			"replicas of the recovery stream in a JetStream cluster (1 to 5; the embedded server: 1)"),

		row("sse-disable", "sse.disable", boolField(func(o *options) *bool { return &b(o).SSE.Disable }),
			"do not serve server-sent events at GET /events (it answers 404)"),
		row("sse-keepalive", "sse.keepalive", durationField(func(o *options) *time.Duration { return &b(o).SSE.KeepAlive }),
			"a comment is written to an event stream silent this long, so that proxies keep it open (at least 100ms)"),
		row("sse-retry", "sse.retry", durationField(func(o *options) *time.Duration { return &b(o).SSE.Retry }),
			"reconnection delay an event stream's first message tells EventSource to wait once the stream ends"),

		row("cors-origin", "cors_origins", listField(func(o *options) *[]string { return &e(o).AllowOrigins }),
			"browser origin allowed to connect, * for any (repeatable; default same-origin only)"),
		row("ping-interval", "ping_interval", durationField(func(o *options) *time.Duration { return &e(o).PingInterval }),
			"Engine.IO heartbeat interval"),
		row("ping-timeout", "ping_timeout", durationField(func(o *options) *time.Duration { return &e(o).PingTimeout }),
			"Engine.IO heartbeat timeout"),
		row("max-payload", "max_payload", intField(func(o *options) *int { return &e(o).MaxPayload }),
			"largest client message or polling body, in bytes"),
		row("max-queue-bytes", "max_queue_bytes", intField(func(o *options) *int { return &e(o).MaxQueueBytes }),
			"bytes queued for one client before the slow-consumer policy applies"),
		row("max-queue-messages", "max_queue_messages", intField(func(o *options) *int { return &e(o).MaxQueueMessages }),
			"messages queued for one client before the slow-consumer policy applies"),
		row("slow-policy", "slow_policy", textField(func(o *options) *engine.SlowPolicy { return &e(o).SlowPolicy }),
			`at a full queue: disconnect (reason "slow") or drop-oldest`),
		row("write-timeout", "write_timeout", durationField(func(o *options) *time.Duration { return &e(o).WriteTimeout }),
			"bound on one websocket write or polling response to a client"),
		row("max-connections", "max_connections", intField(func(o *options) *int { return &e(o).MaxConnections }),
			"socket.io connections open at once; past it a handshake gets 503"),
		row("max-connections-per-ip", "max_connections_per_ip", intField(func(o *options) *int { return &e(o).MaxConnectionsPerIP }),
			"connections from one IP address; past it a handshake gets 429 (0: no bound; behind a proxy all clients share its address)"),
		row("handshake-timeout", "handshake_timeout", durationField(func(o *options) *time.Duration { return &b(o).HandshakeTimeout }),
			"time a client has to send its HTTP request headers, and its socket.io CONNECT after the Engine.IO handshake"),
		row("allow-eio3", "allow_eio3", boolField(func(o *options) *bool { return &e(o).AllowEIO3 }),
			"accept socket.io v2 clients (Engine.IO v3)"),
		row("shutdown-timeout", "shutdown_timeout", durationField(func(o *options) *time.Duration { return &b(o).ShutdownTimeout }),
			"bound on a graceful shutdown"),

		row("auth-jwt-secret", "auth.jwt_secret", bytesField(func(o *options) *[]byte { return &b(o).Auth.JWTSecret }),
			"HS256/384/512 secret that verifies handshake JWTs, at least 32 bytes (prefer --auth-jwt-secret-file)").hidden(),
		row("auth-jwt-secret-file", "auth.jwt_secret_file", stringField(func(o *options) *string { return &b(o).Auth.JWTSecretFile }),
			"file holding the JWT secret (a trailing newline is dropped)").names(),
		row("auth-jwks", "auth.jwks", stringField(func(o *options) *string { return &b(o).Auth.JWKS }),
			"JWKS file or https URL whose public keys (RSA, EC, Ed25519) verify RS*, PS*, ES* and EdDSA JWTs"),
		row("auth-jwks-refresh", "auth.jwks_refresh", durationField(func(o *options) *time.Duration { return &b(o).Auth.JWKSRefresh }),
			"how often the JWKS is checked for changes (a URL: or its Cache-Control max-age, if longer)"),
		row("auth-jwks-min-refresh", "auth.jwks_min_refresh", durationField(func(o *options) *time.Duration { return &b(o).Auth.JWKSMinRefresh }),
			"least time between two JWKS fetches caused by tokens with an unknown kid"),
		row("auth-jwks-fetch-timeout", "auth.jwks_fetch_timeout", durationField(func(o *options) *time.Duration { return &b(o).Auth.JWKSFetchTimeout }),
			"bound on one fetch of a JWKS URL"),
		row("auth-issuer", "auth.issuer", stringField(func(o *options) *string { return &b(o).Auth.Issuer }),
			"required JWT issuer (iss); empty: any"),
		row("auth-audience", "auth.audience", stringField(func(o *options) *string { return &b(o).Auth.Audience }),
			"required JWT audience (one of aud); empty: any"),
		row("auth-leeway", "auth.leeway", durationField(func(o *options) *time.Duration { return &b(o).Auth.Leeway }),
			"clock skew allowed on exp, nbf and iat (negative: none)"),
		row("auth-required", "auth.required", boolField(func(o *options) *bool { return &b(o).Auth.Required }),
			"refuse sockets that bring no credential (a bad credential is refused either way)"),
		row("auth-skip-payload", "auth.skip_payload", boolField(func(o *options) *bool { return &b(o).Auth.Sources.SkipPayload }),
			"do not read the token from the CONNECT auth payload's \"token\""),
		row("auth-skip-header", "auth.skip_header", boolField(func(o *options) *bool { return &b(o).Auth.Sources.SkipHeader }),
			"do not read the token from an \"Authorization: Bearer\" header"),
		row("auth-cookie", "auth.cookie", stringField(func(o *options) *string { return &b(o).Auth.Sources.Cookie }),
			"name of a cookie holding the token (an HttpOnly session cookie); empty: none"),
		row("auth-query-param", "auth.query_param", stringField(func(o *options) *string { return &b(o).Auth.Sources.Query }),
			"query-string parameter holding the token, for socket.io v2 clients (with --allow-eio3 and this empty: \"token\"); URLs get logged"),
		row("auth-request", "auth.request", stringField(func(o *options) *string { return &b(o).Auth.Request }),
			"NATS subject each handshake is sent to as an authorization request; empty: none"),
		row("auth-request-timeout", "auth.request_timeout", durationField(func(o *options) *time.Duration { return &b(o).Auth.RequestTimeout }),
			"bound on one authorization request"),
		row("auth-request-header", "auth.request_headers", listField(func(o *options) *[]string { return &b(o).Auth.RequestHeaders }),
			"handshake HTTP header copied into the authorization request (repeatable)"),
		row("auth-cache-ttl", "auth.cache_ttl", durationField(func(o *options) *time.Duration { return &b(o).Auth.CacheTTL }),
			"how long an authorization reply is reused for the same credential and namespace (negative: no cache)"),
		row("auth-cache-size", "auth.cache_size", intField(func(o *options) *int { return &b(o).Auth.CacheSize }),
			"bound on the cached authorization replies"),
		row("room-from-claim", "auth.room_from_claim", listField(func(o *options) *[]string { return &b(o).Auth.RoomTemplates }),
			"room template joined on connect, e.g. 'user:{sub}'; an array claim joins one room per value (repeatable)"),
		row("auth-max-rooms", "auth.max_rooms", intField(func(o *options) *int { return &b(o).Auth.MaxRooms }),
			"most rooms a socket joins on connect; past it the handshake is refused"),
		row("auth-max-room-length", "auth.max_room_length", intField(func(o *options) *int { return &b(o).Auth.MaxRoomLength }),
			"longest room name, in bytes; a longer one refuses the handshake"),

		row("admin-ui", "admin_ui.enabled", boolField(func(o *options) *bool { return &b(o).AdminUI }),
			"serve the socket.io Admin UI's server side (namespace /admin) behind --admin-user and --admin-password-hash; the UI sends the password, so serve natsock over TLS"),
		row("admin-user", "admin_ui.user", stringField(func(o *options) *string { return &b(o).Admin.Username }),
			"the Admin UI login's username (empty: admin)"),
		row("admin-password-hash", "admin_ui.password_hash", stringField(func(o *options) *string { return &b(o).Admin.PasswordHash }),
			"bcrypt hash of the Admin UI login's password, never the password itself (make it with: natsock admin-hash)").hidden(),
		row("admin-ui-origin", "admin_ui.origins", listField(func(o *options) *[]string { return &b(o).AdminUIOrigins }),
			"browser origin of the Admin UI's page, allowed with credentials, e.g. https://admin.socket.io (repeatable)"),
		row("admin-readonly", "admin_ui.readonly", boolField(func(o *options) *bool { return &b(o).Admin.ReadOnly }),
			"the Admin UI only watches: no join, leave, disconnect or emit"),

		row("metrics-listen", "metrics.listen", addrField(func(o *options) *string { return &o.MetricsListen }),
			"host:port serving /metrics on its own, and then not on --listen (empty: /metrics on --listen)"),
		row("demo", "demo", boolField(func(o *options) *bool { return &o.Demo }),
			"serve a demo page at /: live notifications, a form that emits, the rules, a chart of events/s (shows the rules to anyone)"),

		row("log-level", "log.level", oneOfField(func(o *options) *string { return &o.LogLevel }, "debug", "info", "warn", "error"),
			"debug, info, warn or error"),
		row("log-format", "log.format", oneOfField(func(o *options) *string { return &o.LogFormat }, "text", "json"),
			"text or json"),
	}
}

package auth

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

// RequestVersion is the version of the [Request] schema natsock sends and
// of the [Reply] schema it reads.
const RequestVersion = 1

// Request is the JSON body of an authorization request, one per handshake
// (unless a cached reply serves it), sent to Config.Request.
type Request struct {
	// V is RequestVersion.
	V int `json:"v"`
	// Namespace is the namespace the socket connects to, such as "/".
	Namespace string `json:"namespace"`
	// Remote is the TCP peer's "ip:port".
	Remote string `json:"remote"`
	// Token is the credential (a JWT, or any opaque string such as a
	// session id), from the source Source names; omitted when none came.
	Token  string `json:"token,omitempty"`
	Source Source `json:"source,omitempty"`
	// Claims are the token's claims when natsock verified it as a JWT
	// first (a JWT secret or JWKS is configured).
	Claims map[string]any `json:"claims,omitempty"`
	// Headers are the handshake's headers named by Config.RequestHeaders,
	// canonical names, absent ones left out.
	Headers map[string][]string `json:"headers,omitempty"`
	// Auth is the CONNECT packet's auth payload as the client sent it.
	Auth json.RawMessage `json:"auth,omitempty"`
}

// Reply is the JSON an authorization service answers with. Unknown fields
// are refused (a misspelled "room" would otherwise pass unnoticed), and so
// is a reply without "allow".
type Reply struct {
	// V, when present, must be RequestVersion.
	V int `json:"v,omitempty"`
	// Allow admits (true) or refuses (false) the socket.
	Allow *bool `json:"allow"`
	// Reason is what a refused client reads in its connect_error (at most
	// 200 bytes of UTF-8). Empty means "refused by the authorization
	// service".
	Reason string `json:"reason,omitempty"`
	// User is the socket's Identity.Subject; empty keeps the token's sub.
	User string `json:"user,omitempty"`
	// Rooms are joined on connect, with the rooms of the claim templates.
	Rooms []string `json:"rooms,omitempty"`
	// Claims are merged over the token's (the service's win); the claim
	// templates and inbound permissions see the result.
	Claims map[string]any `json:"claims,omitempty"`
	// Emit lists the client events the socket may emit; absent or null
	// means every event an inbound rule serves, [] means none.
	Emit []string `json:"emit"`
	// Data is kept on the socket as Identity.Data.
	Data json.RawMessage `json:"data,omitempty"`
	// NoCache, when true, keeps this reply out of the cache: for a decision
	// that depends on more than the credential and the namespace.
	NoCache bool `json:"no_cache,omitempty"`
}

// maxReasonBytes bounds a refusal reason a service gives.
const maxReasonBytes = 200

// ErrReply is wrapped by every error of ParseReply.
var ErrReply = errors.New("auth: malformed authorization reply")

// ParseReply reads and checks an authorization service's reply.
func ParseReply(data []byte) (*Reply, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Reply
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrReply, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrReply)
	}
	if r.V != 0 && r.V != RequestVersion {
		return nil, fmt.Errorf("%w: version %d, natsock reads %d", ErrReply, r.V, RequestVersion)
	}
	if r.Allow == nil {
		return nil, fmt.Errorf(`%w: no "allow"`, ErrReply)
	}
	if len(r.Reason) > maxReasonBytes || !utf8.ValidString(r.Reason) {
		return nil, fmt.Errorf("%w: the reason is longer than %d bytes or not UTF-8", ErrReply, maxReasonBytes)
	}
	for _, room := range r.Rooms {
		if room == "" || !utf8.ValidString(room) {
			return nil, fmt.Errorf("%w: room %q is empty or not UTF-8", ErrReply, room)
		}
	}
	for _, ev := range r.Emit {
		if ev == "" || !utf8.ValidString(ev) {
			return nil, fmt.Errorf("%w: emit %q is empty or not UTF-8", ErrReply, ev)
		}
	}
	if r.Data != nil && (string(r.Data) == "null") {
		r.Data = nil
	}
	return &r, nil
}

// asker sends authorization requests and caches their replies.
type asker struct {
	subject string
	timeout time.Duration
	headers []string
	cache   *replyCache // nil when off
}

// ask returns the service's reply for req, from the cache when it holds
// one for the credential (cacheable is false for a request without one).
func (a *asker) ask(ctx context.Context, nc *nats.Conn, req *Request) (*Reply, *Refusal) {
	var key cacheKey
	cacheable := a.cache != nil && req.Token != ""
	if cacheable {
		key = credentialKey(req.Namespace, req.Source, req.Token)
		if r, ok := a.cache.get(key); ok {
			return r, nil
		}
	}
	if nc == nil {
		return nil, refuse(CodeServiceUnavailable, "the authorization service is unavailable", errors.New("no NATS connection yet"))
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, refuse(CodeServiceBadReply, "the authorization request could not be made", err)
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	msg, err := nc.RequestWithContext(ctx, a.subject, body)
	switch {
	case err == nil:
	case errors.Is(err, nats.ErrNoResponders):
		return nil, refuse(CodeServiceUnavailable, "the authorization service is unavailable (no responders)", err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return nil, refuse(CodeServiceTimeout, "the authorization service did not answer in time", err)
	default:
		return nil, refuse(CodeServiceUnavailable, "the authorization service is unavailable", err)
	}
	reply, err := ParseReply(msg.Data)
	if err != nil {
		return nil, refuse(CodeServiceBadReply, "the authorization service's reply is malformed", err)
	}
	if cacheable && !reply.NoCache {
		a.cache.put(key, reply)
	}
	return reply, nil
}

// cacheKey is a credential's SHA-256 (with its namespace and source): the
// raw token is never kept as a key nor logged.
type cacheKey [sha256.Size]byte

func credentialKey(namespace string, src Source, token string) cacheKey {
	h := sha256.New()
	h.Write([]byte(namespace))
	h.Write([]byte{0})
	h.Write([]byte(src))
	h.Write([]byte{0})
	h.Write([]byte(token))
	var k cacheKey
	h.Sum(k[:0])
	return k
}

// replyCache keeps replies for ttl, at most size of them; past the size
// the oldest goes first.
type replyCache struct {
	ttl  time.Duration
	size int
	now  func() time.Time

	mu    sync.Mutex
	items map[cacheKey]*list.Element
	order *list.List // of *cacheEntry, oldest at the front

	hits, misses uint64
}

type cacheEntry struct {
	key     cacheKey
	reply   *Reply
	expires time.Time
}

func newReplyCache(ttl time.Duration, size int) *replyCache {
	return &replyCache{ttl: ttl, size: size, now: time.Now, items: make(map[cacheKey]*list.Element), order: list.New()}
}

func (c *replyCache) get(k cacheKey) (*Reply, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		c.misses++
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, k)
		c.misses++
		return nil, false
	}
	c.hits++
	return e.reply, true
}

func (c *replyCache) put(k cacheKey, r *Reply) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.order.Remove(el)
		delete(c.items, k)
	}
	for c.order.Len() >= c.size {
		old := c.order.Front()
		c.order.Remove(old)
		delete(c.items, old.Value.(*cacheEntry).key)
	}
	c.items[k] = c.order.PushBack(&cacheEntry{key: k, reply: r, expires: c.now().Add(c.ttl)})
}

func (c *replyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// pickHeaders copies the named headers of h.
func pickHeaders(names []string, get func(string) []string) map[string][]string {
	var out map[string][]string
	for _, n := range names {
		if v := get(n); len(v) > 0 {
			if out == nil {
				out = make(map[string][]string, len(names))
			}
			out[n] = append([]string(nil), v...)
		}
	}
	return out
}

// reasonFor is what a refused client reads for a service's refusal.
func reasonFor(r *Reply) string {
	if s := strings.TrimSpace(r.Reason); s != "" {
		return s
	}
	return "refused by the authorization service"
}

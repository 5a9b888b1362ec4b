package engine

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/natsock/natsock/protocol/eio"
)

// openPolling answers a polling handshake with the open packet.
func (srv *Server) openPolling(w http.ResponseWriter, r *http.Request, q map[string][]string, protocol int, ip string) {
	s := srv.newSession(r, q, protocol, transportPolling, ip, nil)
	if s == nil {
		srv.release(ip)
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusServiceUnavailable, codeBadRequest)
		return
	}
	open := append([]byte{'0'}, srv.handshakeJSON(s.id, true)...)
	if protocol == 3 {
		open = eio.AppendPayloadRecordV3(nil, open)
	}
	writePayload(w, open)
	s.open()
}

// Header values shared by every polling response: net/http only reads
// them.
var (
	payloadContentType  = []string{"text/plain; charset=UTF-8"}
	payloadCacheControl = []string{"no-store"}
)

func writePayload(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h["Content-Type"] = payloadContentType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	h["Cache-Control"] = payloadCacheControl
	_, _ = w.Write(body)
}

// writePayloadWithin writes a polling response, flushed, within the
// server's WriteTimeout: a client that stops reading cannot hold the
// request, and what it was sent, for longer. The deadline is lifted
// afterwards, since the connection may serve further requests.
func (srv *Server) writePayloadWithin(w http.ResponseWriter, body []byte) error {
	rc := http.NewResponseController(w)
	deadline := rc.SetWriteDeadline(time.Now().Add(srv.cfg.WriteTimeout)) == nil
	writePayload(w, body)
	err := rc.Flush()
	if deadline {
		if e := rc.SetWriteDeadline(time.Time{}); err == nil {
			err = e
		}
	}
	return err
}

// probeNoopDelay is how long a GET made during an upgrade's probe is held
// before it gets noop, as Node.js holds it until the next tick of its
// 100 ms probe check. A client that sends its "5" and then a GET may have
// the GET handled first: the hold lets the upgrade complete, and the GET
// gets 400 as it would have after it. The client's own poll, pending when
// the probe begins, cannot be such a GET: it gets noop at once, so that a
// real client's upgrade is not delayed.
const probeNoopDelay = 100 * time.Millisecond

// servePoll holds a GET until there is something to send.
func (s *Session) servePoll(w http.ResponseWriter, r *http.Request) {
	heldSince := time.Now()
	s.mu.Lock()
	s.expiredLocked()
	if s.transport != transportPolling || (s.closed && s.pollFinal == nil) {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, codeBadRequest)
		return
	}
	if s.pollHeld {
		// Two GETs at once: the client is broken. The held one gets the
		// close packet, this one an error.
		s.closeLocked(ReasonPollingConflict)
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, codeBadRequest)
		return
	}
	s.pollHeld = true
	var noopTimer *time.Timer
	defer func() {
		if noopTimer != nil {
			noopTimer.Stop()
		}
	}()
	for {
		var body []byte
		var noopDue <-chan time.Time
		switch {
		case s.closed && s.pollFinal != nil:
			body = s.drainLocked(s.pollFinal, getPollBody())
			if len(s.queue) == 0 {
				s.endPollingLocked() // the final packet is in body
			} else {
				s.awaitLastGETLocked() // more than MaxPayload was queued: the client comes back for it
			}
		case s.transport != transportPolling:
			// The upgrade completed while this GET waited: it gets what
			// a GET after the upgrade gets.
			s.pollHeld = false
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, codeBadRequest)
			return
		case s.closed:
			body = s.recordsLocked(closeMsg, getPollBody())
		case s.pollNoop:
			var wait time.Duration
			if !heldSince.Before(s.probeSince) {
				wait = time.Until(heldSince.Add(probeNoopDelay))
			}
			if wait <= 0 {
				body = s.recordsLocked(noopMsg, getPollBody())
				break
			}
			if noopTimer == nil {
				noopTimer = time.NewTimer(wait)
			} else {
				noopTimer.Reset(wait)
			}
			noopDue = noopTimer.C
		case len(s.queue) > 0:
			body = s.drainLocked(nil, getPollBody())
		}
		if body != nil {
			s.pollHeld = false
			s.mu.Unlock()
			err := s.srv.writePayloadWithin(w, body)
			putPollBody(body) // net/http has copied or written it
			if err != nil {
				s.srv.cfg.Logger.Debug("polling response not delivered, closing", "sid", s.id,
					"remote", r.RemoteAddr, "err", err)
				s.abandonPolling()
			}
			return
		}
		s.mu.Unlock()
		select {
		case <-s.pollWake:
		case <-noopDue:
		case <-r.Context().Done():
			// The client gave up on its GET: it is gone. This is a transport
			// error, as in Node.js, not a close: a graceful close would keep
			// the session draining for the next GET, which must get 400.
			s.mu.Lock()
			s.pollHeld = false
			s.mu.Unlock()
			s.abandonPolling()
			return
		}
		s.mu.Lock()
	}
}

// abandonPolling closes a polling session whose client is gone (a GET it
// gave up on, a response it did not take): nothing more is delivered, even
// if the session was closed already and waiting for its last GET.
func (s *Session) abandonPolling() {
	s.mu.Lock()
	s.closeLocked(ReasonTransportError)
	if s.transport == transportPolling {
		s.endPollingLocked()
	}
	s.mu.Unlock()
}

// drainLocked takes queued messages, up to MaxPayload bytes (at least one),
// and appends them to body as one polling payload, with final appended if
// set. It measures what it takes first, so that body grows at most once.
func (s *Session) drainLocked(final *Message, body []byte) []byte {
	size, taken, n := 0, 0, 0
	for _, m := range s.queue {
		rec := s.recordLen(m, 0)
		if n > 0 && size+rec > s.srv.cfg.MaxPayload {
			break
		}
		if s.protocol != 3 && size > 0 && m.raw == nil {
			size++ // the separator
		}
		size += rec
		taken += m.size
		n++
	}
	if final != nil && n == len(s.queue) {
		size += s.recordLen(final, size)
	}
	body = slices.Grow(body, size)
	for _, m := range s.queue[:n] {
		body = s.recordsLocked(m, body)
		if m == pingMsg {
			s.pingTakenLocked()
		}
	}
	s.takeQueueLocked(n)
	s.queuedBytes -= taken
	if final != nil && len(s.queue) == 0 {
		body = s.recordsLocked(final, body)
	}
	return body
}

// keptQueueCap is the largest queue array a polling session keeps for its
// next messages once its GET has taken them all: a session that polls
// steadily then appends to the same array instead of growing a new one
// for every GET, and an idle one holds at most this many pointers.
const keptQueueCap = 256

// takeQueueLocked removes the first n messages of the queue.
func (s *Session) takeQueueLocked(n int) {
	clear(s.queue[:n])
	if n < len(s.queue) {
		s.queue = s.queue[n:]
		return
	}
	if cap(s.queue) <= keptQueueCap {
		s.queue = s.queue[:0]
	} else {
		s.queue = nil
	}
}

// recordLen is how many bytes recordsLocked appends for m to a payload of
// used bytes.
func (s *Session) recordLen(m *Message, used int) int {
	if m.raw != nil {
		return 0
	}
	n := len(m.pollRecords(s.protocol))
	if s.protocol != 3 && used > 0 {
		n++ // the separator
	}
	return n
}

// recordsLocked appends m's records to a payload.
func (s *Session) recordsLocked(m *Message, body []byte) []byte {
	if m.raw != nil {
		return body // a websocket control frame queued during a probe
	}
	rec := m.pollRecords(s.protocol)
	if s.protocol == 3 {
		return append(body, rec...)
	}
	return eio.AppendPayloadRecord(body, rec)
}

// servePost reads the packets of a polling POST.
func (s *Session) servePost(w http.ResponseWriter, r *http.Request) {
	max := s.srv.cfg.MaxPayload
	if r.ContentLength > int64(max) {
		s.CloseWith(ReasonPayloadTooLarge)
		writeError(w, http.StatusRequestEntityTooLarge, codeBadRequest)
		return
	}
	s.mu.Lock()
	if s.expiredLocked() || s.transport != transportPolling {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, codeBadRequest)
		return
	}
	if s.pollPosted {
		s.closeLocked(ReasonParseError)
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, codeBadRequest)
		return
	}
	s.pollPosted = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.pollPosted = false
		s.mu.Unlock()
	}()

	// A body that trickles in would hold this request (and, since a POST
	// at a time is allowed, the client's pongs) after the heartbeat has
	// given up on the session: it gets one heartbeat period.
	rc := http.NewResponseController(w)
	cfg := &s.srv.cfg
	deadline := rc.SetReadDeadline(time.Now().Add(cfg.PingInterval+cfg.PingTimeout)) == nil
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(max)+1))
	if err != nil {
		// The deadline stays: net/http would otherwise wait for the rest
		// of the body to discard it. The connection is not reused.
		w.Header().Set("Connection", "close")
		s.srv.cfg.Logger.Debug("polling body not read, closing", "sid", s.id, "remote", r.RemoteAddr, "err", err)
		s.CloseWith(ReasonTransportError)
		writeError(w, http.StatusBadRequest, codeBadRequest)
		return
	}
	if deadline {
		_ = rc.SetReadDeadline(time.Time{})
	}
	if len(body) > max {
		s.CloseWith(ReasonPayloadTooLarge)
		writeError(w, http.StatusRequestEntityTooLarge, codeBadRequest)
		return
	}
	var packets []eio.Packet
	collect := func(p eio.Packet) error {
		packets = append(packets, p)
		return nil
	}
	switch {
	case s.protocol == 4:
		err = eio.DecodePayload(body, collect)
	case r.Header.Get("Content-Type") == "application/octet-stream":
		err = eio.DecodeBinaryPayloadV3(body, collect)
	default:
		err = eio.DecodePayloadV3(body, collect)
	}
	if err == nil {
		err = checkUTF8(packets)
	}
	if err != nil {
		s.srv.cfg.Logger.Debug("malformed polling payload", "sid", s.id, "remote", r.RemoteAddr, "err", err)
		s.CloseWith(ReasonParseError)
		writeError(w, http.StatusBadRequest, codeBadRequest)
		return
	}
	for _, p := range packets {
		s.onPacket(p)
	}
	// The layer above may have refused what the packets carried (a
	// malformed Socket.IO packet): the POST that brought it says so.
	s.mu.Lock()
	refused := s.closed && s.reason == ReasonParseError
	s.mu.Unlock()
	if refused {
		writeError(w, http.StatusBadRequest, codeBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	_, _ = io.WriteString(w, "ok")
}

// errNotUTF8 refuses a text packet that is not UTF-8: over websocket the
// frame check refuses it, and the same must hold on polling, or the bytes
// would reach a websocket client as a text frame it drops.
var errNotUTF8 = errors.New("engine: text packet is not valid UTF-8")

func checkUTF8(packets []eio.Packet) error {
	for _, p := range packets {
		if !p.Binary && !utf8.Valid(p.Data) {
			return errNotUTF8
		}
	}
	return nil
}

package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/natsock/natsock/protocol/eio"
)

// readBufferSize is the websocket read buffer: large enough for a frame
// header and a typical small message, small enough that an idle connection
// costs little. Larger payloads are read straight into their own buffer.
const readBufferSize = 512

// hijack completes the websocket handshake and takes the connection from
// net/http. Bytes the client sent early are kept; the request is not.
// early reports whether the client sent bytes before it saw the handshake's
// answer (they are read first).
func hijack(w http.ResponseWriter, r *http.Request) (conn net.Conn, br *bufio.Reader, early bool, err error) {
	conn, rw, _, err := ws.HTTPUpgrader{}.Upgrade(r, w)
	if err != nil {
		return nil, nil, false, err
	}
	var src io.Reader = conn
	if n := rw.Reader.Buffered(); n > 0 {
		b, _ := rw.Reader.Peek(n)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(b)), conn)
		early = true
	}
	return conn, bufio.NewReaderSize(src, readBufferSize), early, nil
}

// openWebSocket opens a session that starts on websocket.
func (srv *Server) openWebSocket(w http.ResponseWriter, r *http.Request, q map[string][]string, protocol int, ip string) {
	conn, br, early, err := hijack(w, r)
	if err != nil {
		srv.release(ip)
		srv.cfg.Logger.Debug("websocket handshake failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	// The read loop is counted before the session exists, so that Close,
	// once it has seen the session, also waits for its reader.
	if !srv.track(false) {
		srv.release(ip)
		_ = conn.Close()
		return
	}
	s := srv.newSession(r, q, protocol, transportWebSocket, ip, conn)
	if s == nil {
		srv.release(ip)
		srv.wg.Done()
		_ = conn.Close()
		return
	}
	open := append([]byte{'0'}, srv.handshakeJSON(s.id, false)...)
	s.wmu.Lock()
	s.writeDeadline = time.Now().Add(srv.cfg.WriteTimeout)
	_ = conn.SetWriteDeadline(s.writeDeadline)
	_, err = conn.Write(append(appendFrameHeader(nil, ws.OpText, len(open)), open...))
	s.writeBroken = err != nil
	s.wmu.Unlock()
	if err != nil {
		s.CloseWith(ReasonTransportError)
	}
	s.open()
	go func() {
		defer srv.wg.Done()
		s.readLoop(conn, br, early)
	}()
}

// upgrade takes a websocket that probes to replace a polling session's
// transport.
func (s *Session) upgrade(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.expiredLocked() {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, codeBadRequest)
		return
	}
	if s.transport != transportPolling || s.upgrading {
		s.mu.Unlock()
		s.srv.refuseWebSocket(w, r)
		return
	}
	s.upgrading = true
	s.mu.Unlock()
	notUpgrading := func() {
		s.mu.Lock()
		s.upgrading = false
		s.mu.Unlock()
	}
	if !s.srv.track(false) {
		notUpgrading()
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusServiceUnavailable, codeBadRequest)
		return
	}
	conn, br, early, err := hijack(w, r)
	if err != nil {
		notUpgrading()
		s.srv.wg.Done()
		return
	}
	go func() {
		defer s.srv.wg.Done()
		if s.probe(conn, br) {
			s.readLoop(conn, br, early)
		}
	}()
}

// probe runs the upgrade handshake on conn: "2probe" -> "3probe", the
// polling side is released with noop, then "5" moves the session to conn.
func (s *Session) probe(conn net.Conn, br *bufio.Reader) bool {
	fail := func() bool {
		_ = conn.Close()
		s.mu.Lock()
		s.upgrading = false
		s.pollNoop = false
		s.mu.Unlock()
		return false
	}
	_ = conn.SetReadDeadline(time.Now().Add(s.srv.cfg.UpgradeTimeout))
	var hbuf [ws.MaxHeaderSize - 2]byte
	op, data, err := s.readMessage(br, hbuf[:])
	if err != nil || op != ws.OpText || string(data) != "2probe" {
		return fail()
	}
	_ = conn.SetWriteDeadline(time.Now().Add(s.srv.cfg.WriteTimeout))
	if _, err := conn.Write(pongProbeMsg.wsFrames(s.protocol)); err != nil {
		return fail()
	}
	// The session's writes keep their own deadline (writeDeadline), which
	// knows nothing of this one.
	_ = conn.SetWriteDeadline(time.Time{})
	s.mu.Lock()
	s.pollNoop = true
	s.probeSince = time.Now()
	s.wakePollLocked()
	s.mu.Unlock()

	for {
		op, data, err = s.readMessage(br, hbuf[:])
		if err != nil || op != ws.OpText {
			return fail()
		}
		p, err := eio.DecodeText(data)
		if err != nil {
			return fail()
		}
		if p.Type == eio.Upgrade {
			break
		}
		if p.Type != eio.Ping && p.Type != eio.Noop {
			return fail()
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = conn.Close()
		return false
	}
	s.transport = transportWebSocket
	s.conn = conn
	s.upgrading = false
	s.pollNoop = false
	s.wakePollLocked() // a held GET sees the new transport and answers noop
	s.kickLocked()
	s.mu.Unlock()
	s.upgraded()
	return true
}

// refuseWebSocket answers a second websocket for a session that has one
// (or is probing one), as Node.js does: the handshake completes, then a
// close frame says why, and the connection closes. The session and its
// websocket go on.
func (srv *Server) refuseWebSocket(w http.ResponseWriter, r *http.Request) {
	conn, _, _, err := hijack(w, r)
	if err != nil {
		srv.cfg.Logger.Debug("websocket handshake failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	_ = conn.SetWriteDeadline(time.Now().Add(srv.cfg.WriteTimeout))
	body := ws.NewCloseFrameBody(ws.StatusPolicyViolation, "session already has a websocket")
	_, _ = conn.Write(ws.MustCompileFrame(ws.NewCloseFrame(body)))
	_ = conn.Close()
}

// wakePollLocked wakes a held polling GET.
func (s *Session) wakePollLocked() {
	select {
	case s.pollWake <- struct{}{}:
	default:
	}
}

// readLoop reads the client's websocket messages until the connection ends.
//
// An idle connection should cost little, so the first burst (the CONNECT
// that follows the handshake) is read here, on the goroutine whose stack
// grew during the HTTP handshake; then the connection waits in the
// server's idleWatcher, without a goroutine or a read buffer of its own,
// and borrows both only while bytes are waiting.
func (s *Session) readLoop(conn net.Conn, br *bufio.Reader, early bool) {
	if s.readSome(br) {
		return
	}
	if !early && s.srv.idle.watch(s, conn) {
		return
	}
	s.readAll(br)
}

// readSome handles messages until br has nothing buffered at a message
// boundary; it reports whether the session ended.
func (s *Session) readSome(br *bufio.Reader) bool {
	var hbuf [ws.MaxHeaderSize - 2]byte
	for {
		if !s.readOne(br, hbuf[:]) {
			return true
		}
		if br.Buffered() == 0 {
			return false
		}
	}
}

// readAll handles messages until the session ends.
func (s *Session) readAll(br *bufio.Reader) {
	var hbuf [ws.MaxHeaderSize - 2]byte
	for s.readOne(br, hbuf[:]) {
	}
}

// readOne reads and handles one message; it reports false when the session
// ended.
func (s *Session) readOne(br *bufio.Reader, hbuf []byte) bool {
	op, data, err := s.readMessage(br, hbuf)
	if err != nil {
		s.CloseWith(closeReasonFor(err))
		return false
	}
	var p eio.Packet
	switch {
	case op == ws.OpText && s.protocol == 3:
		p, err = eio.DecodeTextV3(data)
	case op == ws.OpText:
		p, err = eio.DecodeText(data)
	case s.protocol == 3:
		p, err = eio.DecodeBinaryV3(data)
	default:
		p = eio.Packet{Type: eio.Message, Data: data, Binary: true}
	}
	if err != nil {
		s.srv.cfg.Logger.Debug("malformed websocket packet", "sid", s.id, "err", err)
		s.CloseWith(ReasonParseError)
		return false
	}
	s.onPacket(p)
	return true
}

var (
	errProtocol    = errors.New("engine: websocket protocol error")
	errTooLarge    = errors.New("engine: message larger than maxPayload")
	errClientClose = errors.New("engine: client closed the websocket")
)

func closeReasonFor(err error) Reason {
	switch {
	case errors.Is(err, errTooLarge):
		return ReasonPayloadTooLarge
	case errors.Is(err, errProtocol):
		return ReasonParseError
	case errors.Is(err, errClientClose), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return ReasonTransportClose
	}
	return ReasonTransportError
}

// readMessage reads one whole websocket data message, answering control
// frames on the way. Payload memory grows as bytes arrive, up to
// MaxPayload, never on the length the peer declares.
func (s *Session) readMessage(br *bufio.Reader, hbuf []byte) (ws.OpCode, []byte, error) {
	var (
		msg     []byte
		op      ws.OpCode
		started bool
	)
	max := int64(s.srv.cfg.MaxPayload)
	for {
		h, err := ws.ReadHeaderBuffer(br, hbuf)
		if errors.Is(err, ws.ErrHeaderLengthMSB) || errors.Is(err, ws.ErrHeaderLengthUnexpected) {
			return 0, nil, fmt.Errorf("%w: %v", errProtocol, err)
		}
		if err != nil {
			return 0, nil, err
		}
		if h.Rsv != 0 || !h.Masked || h.OpCode.IsReserved() {
			return 0, nil, fmt.Errorf("%w: bad frame header", errProtocol)
		}
		if h.OpCode.IsControl() {
			if h.Length > 125 || !h.Fin {
				return 0, nil, fmt.Errorf("%w: bad control frame", errProtocol)
			}
			p := make([]byte, h.Length)
			if _, err := io.ReadFull(br, p); err != nil {
				return 0, nil, err
			}
			ws.Cipher(p, h.Mask, 0)
			switch h.OpCode {
			case ws.OpPing:
				s.sendControl(rawWSMessage(ws.MustCompileFrame(ws.NewPongFrame(p))))
			case ws.OpClose:
				return 0, nil, errClientClose
			}
			continue
		}
		if h.OpCode == ws.OpContinuation {
			if !started {
				return 0, nil, fmt.Errorf("%w: continuation without a message", errProtocol)
			}
		} else {
			if started {
				return 0, nil, fmt.Errorf("%w: new message inside a fragmented one", errProtocol)
			}
			op, started = h.OpCode, true
		}
		// Compared without adding: a frame may declare up to 2^63-1
		// bytes, and the sum with what is already read would wrap
		// negative and pass.
		if h.Length > max-int64(len(msg)) {
			return 0, nil, fmt.Errorf("%w: %d bytes read, a frame of %d more", errTooLarge, len(msg), h.Length)
		}
		start := len(msg)
		if msg, err = readGrowing(br, msg, int(h.Length)); err != nil {
			return 0, nil, err
		}
		ws.Cipher(msg[start:], h.Mask, 0)
		if h.Fin {
			if op == ws.OpText && !utf8.Valid(msg) {
				return 0, nil, fmt.Errorf("%w: text message is not UTF-8", errProtocol)
			}
			return op, msg, nil
		}
	}
}

// readGrowing appends n bytes from r to b, growing b in steps as the bytes
// arrive.
func readGrowing(r io.Reader, b []byte, n int) ([]byte, error) {
	const step = 64 << 10
	for n > 0 {
		chunk := min(n, step)
		b = append(b, make([]byte, chunk)...)[:len(b)]
		got, err := io.ReadFull(r, b[len(b):len(b)+chunk])
		b = b[:len(b)+got]
		if err != nil {
			return b, err
		}
		n -= chunk
	}
	return b, nil
}

// wholeFrames returns how many of data's leading bytes are whole websocket
// messages: frames up to the last one that ends a message (a final data
// frame, or a control frame outside a fragmented message). The rest, if
// any, is a frame or a fragmented message that continues past data. It
// reads only the frames' headers.
func wholeFrames(data []byte) int {
	off, whole, open := 0, 0, false
	for {
		rest := data[off:]
		if len(rest) < 2 {
			return whole
		}
		h := 2
		length := uint64(rest[1] & 0x7f)
		switch length {
		case 126:
			if len(rest) < 4 {
				return whole
			}
			length = uint64(rest[2])<<8 | uint64(rest[3])
			h = 4
		case 127:
			if len(rest) < 10 {
				return whole
			}
			length = 0
			for _, b := range rest[2:10] {
				length = length<<8 | uint64(b)
			}
			h = 10
		}
		if rest[1]&0x80 != 0 {
			h += 4 // the mask
		}
		if len(rest) < h || uint64(len(rest)-h) < length {
			return whole
		}
		off += h + int(length)
		fin, control := rest[0]&0x80 != 0, rest[0]&0x08 != 0
		switch {
		case control:
			if !open {
				whole = off
			}
		case fin:
			open, whole = false, off
		default:
			open = true
		}
	}
}

// readBytes handles the messages in data, which holds whole frames; it
// reports whether the session ended.
func (s *Session) readBytes(data []byte) bool {
	src := bytes.NewReader(data)
	br := readers.Get().(*bufio.Reader)
	br.Reset(src)
	defer func() {
		br.Reset(nil)
		readers.Put(br)
	}()
	var hbuf [ws.MaxHeaderSize - 2]byte
	for br.Buffered() > 0 || src.Len() > 0 {
		if !s.readOne(br, hbuf[:]) {
			return true
		}
	}
	return false
}

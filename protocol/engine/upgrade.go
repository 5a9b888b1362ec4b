package engine

// UpgradeHandler is a Handler that also wants to know when a session's
// transport changes. The Server checks for it at each upgrade; a Handler
// without it is not told.
type UpgradeHandler interface {
	Handler
	// OnUpgrade is called once a polling session has moved to websocket
	// (its Transport is "websocket"), before its first message over the
	// websocket is handled. It is serialized with the session's other
	// calls, so it comes after OnOpen and before OnClose, and it is not
	// called for a session that closed first.
	OnUpgrade(s *Session)
}

// upgraded tells the handler, if it wants to know, that the session has
// completed its upgrade to websocket.
func (s *Session) upgraded() {
	uh, ok := s.srv.handler.(UpgradeHandler)
	if !ok {
		return
	}
	s.inMu.Lock()
	defer s.inMu.Unlock()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if !closed {
		uh.OnUpgrade(s)
	}
}

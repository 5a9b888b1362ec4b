package admin

// Leaving returns how many disconnecting sockets' rooms the admin holds
// for their Disconnected. Between disconnects it must be 0.
func (a *Admin) Leaving() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.leaving)
}

package admin

// Tracked returns the sizes of the admin's bookkeeping: connections named,
// sockets whose rooms are mirrored, and sockets watched for an upgrade.
// Once every socket has gone, all three must be 0.
func (a *Admin) Tracked() (clients, rooms, polling int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.clients), len(a.rooms), len(a.polling)
}

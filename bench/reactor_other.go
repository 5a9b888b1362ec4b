//go:build !linux

package bench

import "errors"

// reactor is Linux's epoll reader; elsewhere each client reads on its own
// goroutine.
type reactor struct{}

func newReactor(*runState, int) (*reactor, error) { return nil, nil }
func (r *reactor) add(*wsClient, int) error       { return errors.New("bench: no reactor") }
func (r *reactor) run()                           {}
func (r *reactor) close()                         {}
func (r *reactor) release()                       {}
func (c *wsClient) writeFD([]byte) error          { return errors.New("bench: no reactor") }

package engine

import "sync"

// maxPooledPollBody is the capacity above which a polling body is left to
// the garbage collector rather than kept for the next GET: a rare large
// backlog (up to MaxPayload) should not stay in the pool.
const maxPooledPollBody = 64 << 10

// pollBodies holds the buffers polling responses are encoded into. A GET
// under load carries tens of messages; encoding them into a reused buffer
// instead of a new, growing slice per GET is most of what the garbage
// collector had to do on the polling path.
var pollBodies = sync.Pool{New: func() any { return new([]byte) }}

// getPollBody returns an empty buffer for a polling response.
func getPollBody() []byte {
	p := pollBodies.Get().(*[]byte)
	b := (*p)[:0]
	*p = nil
	pollBodyHolders.Put(p)
	return b
}

// putPollBody gives b back once its response is written.
func putPollBody(b []byte) {
	if cap(b) == 0 || cap(b) > maxPooledPollBody {
		return
	}
	p := pollBodyHolders.Get().(*[]byte)
	*p = b[:0]
	pollBodies.Put(p)
}

// pollBodyHolders recycles the pointers pollBodies stores, so that neither
// Get nor Put allocates.
var pollBodyHolders = sync.Pool{New: func() any { return new([]byte) }}

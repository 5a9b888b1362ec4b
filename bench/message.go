package bench

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// A message is {"run":RUN,"seq":SEQ,"ts":NANOS,"pad":"x..."}, and a
// targeted one {"run":RUN,"seq":SEQ,"ts":NANOS,"to":USER,"pad":"x..."}:
// see the package documentation.

// appendMessage appends message seq of run, published at ts nanoseconds,
// padded to size bytes when its fields leave room.
func appendMessage(dst []byte, run, seq uint64, ts int64, size int) []byte {
	return appendTargetedMessage(dst, run, seq, ts, 0, size)
}

// appendTargetedMessage appends message seq of run for user to (seq
// counts that user's messages), published at ts nanoseconds, padded to
// size bytes when its fields leave room. User 0 is no user: the message
// is appendMessage's, with no "to" field.
func appendTargetedMessage(dst []byte, run, seq uint64, ts int64, to uint64, size int) []byte {
	start := len(dst)
	dst = append(dst, `{"run":`...)
	dst = strconv.AppendUint(dst, run, 10)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, ts, 10)
	if to != 0 {
		dst = append(dst, toField...)
		dst = strconv.AppendUint(dst, to, 10)
	}
	dst = append(dst, `,"pad":"`...)
	for pad := size - (len(dst) - start) - len(`"}`); pad > 0; pad-- {
		dst = append(dst, 'x')
	}
	return append(dst, `"}`...)
}

var (
	tsField = []byte(`,"ts":`)
	toField = []byte(`,"to":`)
)

// eventPrefix is how a Socket.IO EVENT frame carrying one of run's messages
// as event's one argument starts, on the root namespace:
// 42["event",{"run":RUN,"seq":
func eventPrefix(event string, run uint64) []byte {
	name, _ := json.Marshal(event) // a string always marshals
	b := append([]byte(`42[`), name...)
	b = append(b, `,{"run":`...)
	b = strconv.AppendUint(b, run, 10)
	return append(b, `,"seq":`...)
}

// parseEvent reads the sequence number and publish time of one of the
// run's messages from an Engine.IO message, without allocating. prefix is
// eventPrefix's. ok is false for anything else: another event, another
// run's message, a frame too short or malformed.
func parseEvent(p, prefix []byte) (seq uint64, ts int64, ok bool) {
	seq, ts, _, ok = parseEventRest(p, prefix)
	return seq, ts, ok
}

// parseEventRest is parseEvent that also returns what follows the
// timestamp: "," and the next field, or "}".
func parseEventRest(p, prefix []byte) (seq uint64, ts int64, rest []byte, ok bool) {
	if !bytes.HasPrefix(p, prefix) {
		return 0, 0, nil, false
	}
	p = p[len(prefix):]
	seq, p, ok = parseUint(p)
	if !ok || !bytes.HasPrefix(p, tsField) {
		return 0, 0, nil, false
	}
	u, p, ok := parseUint(p[len(tsField):])
	if !ok || u > 1<<63-1 || len(p) == 0 || (p[0] != ',' && p[0] != '}') {
		return 0, 0, nil, false
	}
	return seq, int64(u), p, true
}

// parseTarget reads the user a targeted message names from rest, what
// parseEventRest leaves: ,"to":USER followed by "," or "}". ok is false
// when rest holds no such field: not a targeted message.
func parseTarget(rest []byte) (to uint64, ok bool) {
	if !bytes.HasPrefix(rest, toField) {
		return 0, false
	}
	to, rest, ok = parseUint(rest[len(toField):])
	if !ok || len(rest) == 0 || (rest[0] != ',' && rest[0] != '}') {
		return 0, false
	}
	return to, true
}

// parseUint reads the decimal digits at the start of p: at least one, at
// most 19 (so it cannot overflow), and no leading zero as JSON requires.
func parseUint(p []byte) (uint64, []byte, bool) {
	var v uint64
	i := 0
	for ; i < len(p) && i < 19 && p[i] >= '0' && p[i] <= '9'; i++ {
		v = v*10 + uint64(p[i]-'0')
	}
	if i == 0 || (i > 1 && p[0] == '0') || (i < len(p) && p[i] >= '0' && p[i] <= '9') {
		return 0, p, false
	}
	return v, p[i:], true
}

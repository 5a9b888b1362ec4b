package bench

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
)

func TestAppendMessageIsJSONOfTheRequestedSize(t *testing.T) {
	for _, size := range []int{0, 10, 60, 128, 1024, 16 << 10} {
		msg := appendMessage(nil, 1<<52, 123456, 987654321012, size)
		var m struct {
			Run uint64 `json:"run"`
			Seq uint64 `json:"seq"`
			TS  int64  `json:"ts"`
			Pad string `json:"pad"`
		}
		if err := json.Unmarshal(msg, &m); err != nil {
			t.Fatalf("size %d: %q is not JSON: %v", size, msg, err)
		}
		if m.Run != 1<<52 || m.Seq != 123456 || m.TS != 987654321012 {
			t.Errorf("size %d: fields %+v", size, m)
		}
		if min := len(`{"run":4503599627370496,"seq":123456,"ts":987654321012,"pad":""}`); size >= min && len(msg) != size {
			t.Errorf("size %d: message is %d bytes", size, len(msg))
		}
	}
}

// frame is how natsock and the Node peer send message msg as event.
func frame(event string, msg []byte) []byte {
	name, _ := json.Marshal(event)
	return []byte("42[" + string(name) + "," + string(msg) + "]")
}

func TestParseEvent(t *testing.T) {
	const run = 77
	prefix := eventPrefix("newTaskAssigned", run)
	msg := appendMessage(nil, run, 42, 1234, 128)
	tests := []struct {
		name  string
		frame []byte
		seq   uint64
		ts    int64
		ok    bool
	}{
		{"this run's message as the event is read", frame("newTaskAssigned", msg), 42, 1234, true},
		{"a message too short for its padding still is", frame("newTaskAssigned", appendMessage(nil, run, 0, 0, 0)), 0, 0, true},
		{"only the prefix of a long frame is needed", frame("newTaskAssigned", msg)[:len(prefix)+len(`42,"ts":1234,`)], 42, 1234, true},
		{"another run's message is foreign", frame("newTaskAssigned", appendMessage(nil, run+1, 42, 1234, 128)), 0, 0, false},
		{"another event is foreign", frame("other", msg), 0, 0, false},
		{"an event with an ack id is foreign", []byte("421" + string(frame("newTaskAssigned", msg)[2:])), 0, 0, false},
		{"a namespace's event is foreign", []byte(`42/admin,["newTaskAssigned",` + string(msg) + "]"), 0, 0, false},
		{"a message re-encoded with spaces is foreign", frame("newTaskAssigned", []byte(`{"run": 77, "seq": 1, "ts": 2}`)), 0, 0, false},
		{"a sequence number with a leading zero is refused", append(bytes.Clone(prefix), `01,"ts":5}]`...), 0, 0, false},
		{"a sequence number of 20 digits is refused", append(bytes.Clone(prefix), `12345678901234567890,"ts":5}]`...), 0, 0, false},
		{"a timestamp past int64 is refused", append(bytes.Clone(prefix), `1,"ts":9999999999999999999}]`...), 0, 0, false},
		{"a frame cut inside the timestamp is refused", append(bytes.Clone(prefix), `1,"ts":12`...), 0, 0, false},
		{"an empty frame is refused", nil, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seq, ts, ok := parseEvent(tc.frame, prefix)
			if seq != tc.seq || ts != tc.ts || ok != tc.ok {
				t.Errorf("parseEvent(%q) = %d, %d, %v; want %d, %d, %v", tc.frame, seq, ts, ok, tc.seq, tc.ts, tc.ok)
			}
		})
	}
}

func TestEventPrefixEscapesTheEventName(t *testing.T) {
	got := string(eventPrefix(`say "hi"`, 5))
	if want := `42["say \"hi\"",{"run":5,"seq":`; got != want {
		t.Errorf("eventPrefix = %s, want %s", got, want)
	}
}

func TestParseEventDoesNotAllocate(t *testing.T) {
	prefix := eventPrefix("newTaskAssigned", 9)
	f := frame("newTaskAssigned", appendMessage(nil, 9, 1, 2, 128))
	if n := testing.AllocsPerRun(1000, func() { parseEvent(f, prefix) }); n != 0 {
		t.Errorf("parseEvent allocates %v times", n)
	}
}

// FuzzParseEvent checks that parseEvent never panics, and that whatever it
// accepts is a well-formed message prefix whose numbers it read back.
func FuzzParseEvent(f *testing.F) {
	prefix := eventPrefix("newTaskAssigned", 7)
	f.Add(frame("newTaskAssigned", appendMessage(nil, 7, 3, 99, 64)))
	f.Add(frame("newTaskAssigned", appendMessage(nil, 7, 18446744073709551615, 9223372036854775807, 0)))
	f.Add(append(bytes.Clone(prefix), `0,"ts":0}`...))
	f.Add([]byte(`42["x",1]`))
	f.Add([]byte("2"))
	f.Fuzz(func(t *testing.T, p []byte) {
		seq, ts, ok := parseEvent(p, prefix)
		if !ok {
			return
		}
		if ts < 0 {
			t.Fatalf("negative timestamp %d from %q", ts, p)
		}
		want := string(prefix) + strconv.FormatUint(seq, 10) + `,"ts":` + strconv.FormatInt(ts, 10)
		if !bytes.HasPrefix(p, []byte(want)) {
			t.Fatalf("parseEvent(%q) = %d, %d: the frame does not start with %q", p, seq, ts, want)
		}
	})
}

func BenchmarkParseEvent(b *testing.B) {
	prefix := eventPrefix("newTaskAssigned", 9)
	f := frame("newTaskAssigned", appendMessage(nil, 9, 123456, 1234567890123, 128))
	for b.Loop() {
		parseEvent(f, prefix)
	}
}

func TestAppendTargetedMessageNamesItsUser(t *testing.T) {
	for _, size := range []int{0, 128, 1024} {
		msg := appendTargetedMessage(nil, 1<<52, 7, 987654321012, 10000, size)
		var m struct {
			Run uint64  `json:"run"`
			Seq uint64  `json:"seq"`
			TS  int64   `json:"ts"`
			To  *uint64 `json:"to"`
			Pad string  `json:"pad"`
		}
		if err := json.Unmarshal(msg, &m); err != nil {
			t.Fatalf("size %d: %q is not JSON: %v", size, msg, err)
		}
		if m.Run != 1<<52 || m.Seq != 7 || m.TS != 987654321012 || m.To == nil || *m.To != 10000 {
			t.Errorf("size %d: fields %+v", size, m)
		}
		if size >= 128 && len(msg) != size {
			t.Errorf("size %d: message is %d bytes", size, len(msg))
		}
	}
	if got, want := appendTargetedMessage(nil, 1, 2, 3, 0, 64), appendMessage(nil, 1, 2, 3, 64); !bytes.Equal(got, want) {
		t.Errorf("user 0 gives %q, want the broadcast message %q", got, want)
	}
}

func TestParseTarget(t *testing.T) {
	const run = 77
	prefix := eventPrefix("notification", run)
	tests := []struct {
		name  string
		frame []byte
		to    uint64
		ok    bool
	}{
		{"a targeted message names its user", frame("notification", appendTargetedMessage(nil, run, 3, 1234, 42, 128)), 42, true},
		{"a short one without padding too", frame("notification", appendTargetedMessage(nil, run, 0, 0, 1, 0)), 1, true},
		{"a user id of 19 digits is read", append(bytes.Clone(prefix), `1,"ts":5,"to":9999999999999999999}]`...), 9999999999999999999, true},
		{"a broadcast message names no user", frame("notification", appendMessage(nil, run, 3, 1234, 128)), 0, false},
		{"a user id given as a string is refused", append(bytes.Clone(prefix), `1,"ts":5,"to":"42"}]`...), 0, false},
		{"a user id with a leading zero is refused", append(bytes.Clone(prefix), `1,"ts":5,"to":042}]`...), 0, false},
		{"a user id of 20 digits is refused", append(bytes.Clone(prefix), `1,"ts":5,"to":18446744073709551615}]`...), 0, false},
		{"a frame cut inside the user id is refused", append(bytes.Clone(prefix), `1,"ts":5,"to":42`...), 0, false},
		{"a negative user id is refused", append(bytes.Clone(prefix), `1,"ts":5,"to":-42}]`...), 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, rest, ok := parseEventRest(tc.frame, prefix)
			if !ok {
				t.Fatalf("parseEventRest(%q) refused the frame", tc.frame)
			}
			to, ok := parseTarget(rest)
			if to != tc.to || ok != tc.ok {
				t.Errorf("parseTarget(%q) = %d, %v; want %d, %v", rest, to, ok, tc.to, tc.ok)
			}
		})
	}
}

func TestParseTargetDoesNotAllocate(t *testing.T) {
	prefix := eventPrefix("notification", 9)
	f := frame("notification", appendTargetedMessage(nil, 9, 1, 2, 3, 128))
	if n := testing.AllocsPerRun(1000, func() {
		_, _, rest, _ := parseEventRest(f, prefix)
		parseTarget(rest)
	}); n != 0 {
		t.Errorf("parseEventRest and parseTarget allocate %v times", n)
	}
}

// FuzzParseTarget checks that reading a targeted message never panics,
// and that a user it accepts is the one the frame names, in decimal.
func FuzzParseTarget(f *testing.F) {
	prefix := eventPrefix("notification", 7)
	f.Add(frame("notification", appendTargetedMessage(nil, 7, 3, 99, 42, 64)))
	f.Add(frame("notification", appendTargetedMessage(nil, 7, 0, 0, 18446744073709551615, 0)))
	f.Add(append(bytes.Clone(prefix), `0,"ts":0,"to":1}`...))
	f.Add(append(bytes.Clone(prefix), `0,"ts":0,"to":}`...))
	f.Add(frame("notification", appendMessage(nil, 7, 3, 99, 64)))
	f.Fuzz(func(t *testing.T, p []byte) {
		seq, ts, rest, ok := parseEventRest(p, prefix)
		if !ok {
			return
		}
		to, ok := parseTarget(rest)
		if !ok {
			return
		}
		want := string(prefix) + strconv.FormatUint(seq, 10) + `,"ts":` + strconv.FormatInt(ts, 10) +
			`,"to":` + strconv.FormatUint(to, 10)
		if !bytes.HasPrefix(p, []byte(want)) || len(p) == len(want) || (p[len(want)] != ',' && p[len(want)] != '}') {
			t.Fatalf("parseTarget read user %d from %q, which does not start with %q and an end of field", to, p, want)
		}
	})
}

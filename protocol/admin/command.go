package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/natsock/natsock/protocol/sio"
	"github.com/natsock/natsock/protocol/socketio"
)

// The commands the Admin UI sends, as event names on the admin namespace.
const (
	cmdEmit       = "emit"        // (nsp, filter, event, ...args)
	cmdJoin       = "join"        // (nsp, room, filter?)
	cmdLeave      = "leave"       // (nsp, room, filter?)
	cmdDisconnect = "_disconnect" // (nsp, close, filter?)
)

// MaxRoomLength bounds a room name in a command, in bytes; a longer one is
// refused. The UI sends what a person typed.
const MaxRoomLength = 1024

// ErrCommand is wrapped by every error about a command the UI sent.
var ErrCommand = errors.New("admin: bad command")

// command is one parsed Admin UI command. Filter selects the sockets it
// applies to: those in the room of that name (a socket's id is a room of
// its own), or, when empty, every socket of the namespace.
type command struct {
	Name   string
	NSP    string
	Room   string // join, leave: the room to join or leave
	Filter string
	Close  bool // _disconnect: close the whole connection, not only the namespace
	Event  string
	Args   []json.RawMessage // emit: the event's arguments, raw
}

// parseCommand reads the arguments of one command event, as the Admin UI
// (and socket.io's admin server, lib/index.ts) lays them out. Each
// argument is one JSON value, as package socketio delivers it.
func parseCommand(name string, args []json.RawMessage) (command, error) {
	c := command{Name: name}
	bad := func(format string, a ...any) (command, error) {
		return command{}, fmt.Errorf("%w: %s: %s", ErrCommand, name, fmt.Sprintf(format, a...))
	}
	if len(args) == 0 {
		return bad("no namespace")
	}
	nsp, ok := jsonString(args[0])
	if !ok || nsp == "" {
		return bad("the namespace is not a non-empty string")
	}
	c.NSP = nsp
	switch name {
	case cmdJoin, cmdLeave:
		if len(args) < 2 {
			return bad("no room")
		}
		room, ok := jsonString(args[1])
		if !ok || room == "" {
			return bad("the room is not a non-empty string")
		}
		if len(room) > MaxRoomLength {
			return bad("the room is longer than %d bytes", MaxRoomLength)
		}
		c.Room = room
		if c.Filter, ok = optionalString(args, 2); !ok {
			return bad("the filter is neither a string nor null")
		}
		if len(args) > 3 {
			return bad("%d arguments, want at most 3", len(args))
		}
	case cmdDisconnect:
		if len(args) < 2 {
			return bad("no close flag")
		}
		switch string(bytes.TrimSpace(args[1])) {
		case "true":
			c.Close = true
		case "false":
		default:
			return bad("the close flag is not a boolean")
		}
		if c.Filter, ok = optionalString(args, 2); !ok {
			return bad("the filter is neither a string nor null")
		}
		if len(args) > 3 {
			return bad("%d arguments, want at most 3", len(args))
		}
	case cmdEmit:
		if c.Filter, ok = optionalString(args, 1); !ok {
			return bad("the filter is neither a string nor null")
		}
		if len(args) < 3 {
			return bad("no event name")
		}
		ev, ok := jsonString(args[2])
		if !ok || ev == "" {
			return bad("the event name is not a non-empty string")
		}
		c.Event = ev
		c.Args = args[3:]
	default:
		return bad("unknown command")
	}
	return c, nil
}

// jsonString decodes raw as a JSON string, which must be valid UTF-8.
func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || !utf8.ValidString(s) {
		return "", false
	}
	return s, true
}

// optionalString decodes args[i] as a string; a missing argument or a null
// is "" (as socket.io's server reads an undefined filter).
func optionalString(args []json.RawMessage, i int) (string, bool) {
	if i >= len(args) || string(bytes.TrimSpace(args[i])) == "null" {
		return "", true
	}
	return jsonString(args[i])
}

// refuseCommand logs a command a read-only Admin UI sent anyway (it is
// offered none: a UI from before the config event, or a hand-made client).
func (a *Admin) refuseCommand(s *socketio.Socket, ev *socketio.Event) {
	a.log.Warn("admin UI: ignored a command: the Admin UI is read-only", "remote", s.Handshake().RemoteAddr,
		"command", ev.Name)
}

// onCommand runs one command the Admin UI sent.
func (a *Admin) onCommand(s *socketio.Socket, ev *socketio.Event) {
	remote := s.Handshake().RemoteAddr
	c, err := parseCommand(ev.Name, ev.Args)
	if err != nil {
		a.log.Warn("admin UI: ignored a malformed command", "remote", remote, "err", err)
		return
	}
	ns := a.srv.Lookup(c.NSP)
	if ns == nil {
		a.log.Warn("admin UI: ignored a command for a namespace that does not exist", "remote", remote,
			"command", c.Name, "nsp", c.NSP)
		return
	}
	if c.Name == cmdEmit {
		d := socketio.Data{Args: c.Args, Attachments: ev.Attachments}
		if sio.IsReserved(c.Event) {
			a.log.Warn("admin UI: ignored an emit of an event name socket.io reserves", "remote", remote, "event", c.Event)
			return
		}
		var n int
		if c.Filter == "" {
			n = ns.Emit(c.Event, d)
		} else {
			n = ns.To(c.Filter).Emit(c.Event, d)
		}
		a.log.Info("admin UI: emit", "remote", remote, "nsp", c.NSP, "filter", c.Filter, "event", c.Event, "sockets", n)
		return
	}
	targets := selectSockets(ns, c.Filter)
	for _, t := range targets {
		switch c.Name {
		case cmdJoin:
			t.Join(c.Room)
		case cmdLeave:
			t.Leave(c.Room)
		case cmdDisconnect:
			t.Disconnect(c.Close)
		}
	}
	a.log.Info("admin UI: "+c.Name, "remote", remote, "nsp", c.NSP, "filter", c.Filter, "room", c.Room,
		"close", c.Close, "sockets", len(targets))
}

// selectSockets returns ns's sockets in the room filter (a socket's id
// being a room of its own), or all of them when filter is empty.
func selectSockets(ns *socketio.Namespace, filter string) []*socketio.Socket {
	all := ns.Sockets()
	if filter == "" {
		return all
	}
	var out []*socketio.Socket
	for _, s := range all {
		if s.ID() == filter || slices.Contains(s.Rooms(), filter) {
			out = append(out, s)
		}
	}
	return out
}

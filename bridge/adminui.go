package bridge

import (
	"errors"
	"fmt"
	"slices"

	"github.com/natsock/natsock/protocol/admin"
	"github.com/natsock/natsock/protocol/socketio"
)

// validateAdminUI checks the Admin UI's settings: with AdminUI on, the
// admin package's own (the password hash above all) and that no --map rule
// serves its namespace; with it off, that none is given, since they would
// do nothing.
func (c Config) validateAdminUI(r rules) []error {
	if !c.AdminUI {
		if c.Admin.PasswordHash != "" || c.Admin.Username != "" || len(c.AdminUIOrigins) > 0 || c.Admin.ReadOnly {
			return []error{&FieldError{Field: "AdminUI", Err: errors.New("is off, yet Admin UI settings are given: turn it on, or drop them")}}
		}
		return nil
	}
	errs := nest("Admin", c.Admin.Validate())
	ns := c.Admin.Namespace
	if ns == "" {
		ns = admin.DefaultNamespace
	}
	if r.mapping != nil && slices.Contains(r.mapping.Namespaces(), ns) {
		errs = append(errs, &FieldError{Field: "Admin.Namespace",
			Err: fmt.Errorf("%s is a namespace a --map rule serves; the Admin UI needs its own", ns)})
	}
	for i, o := range c.AdminUIOrigins {
		if o == "*" || o == "" {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("AdminUIOrigins[%d]", i),
				Err: errors.New("want the origin the UI's page is served from, such as https://admin.socket.io (the UI sends credentials, which a browser never sends to \"*\")")})
		}
	}
	return errs
}

// adminUIOrigins puts the Admin UI page's origins first in the engine's
// allowed origins, so that they are answered with credentials allowed
// (which the UI asks for) even when "*" is also listed.
func (c Config) adminUIOrigins(e *socketio.Config) {
	if c.AdminUI && len(c.AdminUIOrigins) > 0 {
		e.Engine.AllowOrigins = append(slices.Clone(c.AdminUIOrigins), e.Engine.AllowOrigins...)
	}
}

// startAdminUI serves the Admin UI when it is on. Its server id is the
// node's name; a socket's data is its user; the query parameters that may
// carry a token are hidden from it.
func (b *Bridge) startAdminUI() error {
	if !b.cfg.AdminUI {
		return nil
	}
	ac := b.cfg.Admin
	if ac.ServerID == "" {
		ac.ServerID = b.cfg.NodeName
	}
	if ac.Logger == nil {
		ac.Logger = b.log
	}
	if ac.SocketData == nil {
		ac.SocketData = adminSocketData
	}
	ac.RedactQuery = append(slices.Clone(ac.RedactQuery), "token")
	if q := b.cfg.Auth.Sources.Query; q != "" {
		ac.RedactQuery = append(ac.RedactQuery, q)
	}
	a, err := admin.New(b.sio, ac)
	if err != nil {
		return errors.Join(nest("Admin", err)...)
	}
	b.admin = a
	b.log.Info("serving the socket.io Admin UI", "namespace", a.Namespace().Name(), "readonly", ac.ReadOnly,
		"origins", b.cfg.AdminUIOrigins)
	return nil
}

// adminSocketData is what the Admin UI shows as a socket's data: the user
// authentication found ({"user": SUB}), not the claims, which may hold
// what the UI's viewers need not see. An anonymous socket shows {}.
func adminSocketData(s *socketio.Socket) any {
	if id := identityOf(s); id != nil && id.Subject != "" {
		return map[string]string{"user": id.Subject}
	}
	return nil
}

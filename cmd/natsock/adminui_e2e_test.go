package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/natsock/natsock/internal/bridgetest"
)

// testServeAdminUI: serve with --admin-ui and a hash from admin-hash admits
// the Admin UI's login (a real socket.io client on /admin with the UI's
// auth payload gets the features), refuses a wrong password with the UI's
// "invalid credentials", and logs the refusal.
func testServeAdminUI(t *testing.T, bin string) {
	bridgetest.RequireNode(t)
	const password = "e2e admin password"
	app := newApp()
	var out bytes.Buffer
	app.Reader = strings.NewReader(password + "\n")
	app.Writer = &out
	if err := app.Run([]string{"natsock", "admin-hash", "--cost", "4"}); err != nil {
		t.Fatal(err)
	}
	serve := startServe(t, bin, "--map", "tasks.assigned=newTaskAssigned",
		"--admin-ui", "--admin-user", "ops", "--admin-password-hash", strings.TrimSpace(out.String()))
	_, url := serve.ready()

	res := interop(t, url+"/admin", "websocket", "--scenario", "receive", "--event", "config", "--count", "1",
		"--auth", `{"username":"ops","password":"`+password+`"}`).MustOK(30 * time.Second)
	var got struct {
		Events []struct {
			Args []struct {
				SupportedFeatures []string `json:"supportedFeatures"`
			} `json:"args"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(res.Raw), &got); err != nil || len(got.Events) != 1 || len(got.Events[0].Args) != 1 ||
		!slices.Contains(got.Events[0].Args[0].SupportedFeatures, "DISCONNECT") {
		t.Errorf("the Admin UI's login got %s, want its config with the features", res.Raw)
	}

	res = interop(t, url+"/admin", "websocket", "--scenario", "connect-error",
		"--auth", `{"username":"ops","password":"wrong"}`).MustOK(30 * time.Second)
	var refused struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(res.Raw), &refused); err != nil || refused.Message != "invalid credentials" {
		t.Errorf("a wrong password got %s, want connect_error \"invalid credentials\"", res.Raw)
	}
	serve.waitLog(regexp.MustCompile(`admin UI login refused: wrong username or password`))
	if strings.Contains(serve.output(), password) {
		t.Error("the password is in serve's log")
	}
}

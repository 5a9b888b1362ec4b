package socketio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testdata/forcebase64.js drives socket.io-client 2.5.0 and 4.8.4 from npm
// with forceBase64: binary goes as base64 text, never as binary frames or
// payloads. Other-language clients take the same paths (python-engineio
// posts "b"+base64 on polling), so the engine must decode them.
var forceBase64JS = filepath.Join(testdataDir, "forcebase64.js")

// forceBase64Result is forcebase64.js's final line.
type forceBase64Result struct {
	OK        bool            `json:"ok"`
	Error     string          `json:"error"`
	Transport string          `json:"transport"`
	ServerAck json.RawMessage `json:"serverAck"`
	MS        int             `json:"ms"`
}

func TestForceBase64Clients(t *testing.T) {
	node := requireNode(t)
	for _, c := range []struct{ client, transports string }{
		// Engine.IO v3 text payload, "b4"+base64 records, b64=1.
		{client: "2.5.0", transports: "polling"},
		// Engine.IO v3 "b4"+base64 text frames.
		{client: "2.5.0", transports: "websocket"},
		// Engine.IO v4 "b"+base64 text frames.
		{client: "4.8.4", transports: "websocket"},
	} {
		t.Run(fmt.Sprintf("socket.io-client %s with forceBase64 over %s round-trips binary", c.client, c.transports), func(t *testing.T) {
			ps := startPythonServer(t)
			ctx, cancel := context.WithTimeout(context.Background(), nodeDeadline)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, forceBase64JS, "--url", ps.url, "--client", c.client,
				"--transports", c.transports, "--timeout", fmt.Sprint(nodeTimeout.Milliseconds()))
			cmd.WaitDelay = 2 * time.Second
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			runErr := cmd.Run()
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			var res forceBase64Result
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || !res.OK || runErr != nil {
				t.Fatalf("node %s: ok=%v error=%q (decode %v, run error %v)\nstdout:\n%s\nstderr:\n%s\n%s",
					strings.Join(cmd.Args[1:], " "), res.OK, res.Error, err, runErr, stdout.String(), stderr.String(), ps.report())
			}
			if res.Transport != c.transports {
				t.Errorf("the client ended on %s, want %s", res.Transport, c.transports)
			}
			if !jsonEqual(res.ServerAck, `[1,"two",{"$binary":"CQgH"}]`) {
				t.Errorf("the client received server-ack as %s, want [1,\"two\",<binary 09 08 07>]", res.ServerAck)
			}
			assertPythonServerAck(t, ps)
			if c.transports != "polling" {
				return
			}
			// The client asked for base64 (b64=1) and posted its binary as
			// "b4"+base64 records of a text payload.
			posted := false
			for _, e := range ps.wire.exchanges() {
				if e.method != http.MethodPost {
					continue
				}
				if e.contentType == "application/octet-stream" || !strings.Contains(e.query, "b64=1") {
					t.Errorf("a POST not in base64 text: %s", e)
				}
				posted = posted || (e.status == http.StatusOK && bytes.Contains(e.request, []byte(":b4AQIDBA==")))
			}
			if !posted {
				t.Errorf("no POST carried the client's attachment as \"b4AQIDBA==\"\n%s", ps.report())
			}
		})
	}
}

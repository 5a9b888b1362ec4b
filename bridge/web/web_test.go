package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/natsock/natsock/bridge/web"
)

var info = web.Info{
	Version:      "v1.2.3 <b>",
	SocketIOPath: "/socket.io/",
	Metrics:      "/metrics",
	Maps: []web.Map{{Rule: "tasks.assigned=newTaskAssigned", Subject: "tasks.assigned", Event: "newTaskAssigned", Namespace: "/"},
		{Rule: "notify.user.*=notification@user:{3}", Subject: "notify.user.*", Event: "notification", Namespace: "/", Room: "user:{3}"}},
	Inbound: []web.Inbound{{Rule: "taskAssigned=tasks.assigned", Event: "taskAssigned", Subject: "tasks.assigned"}},
}

// serve runs handlers (pattern -> handler) on a real HTTP server and
// returns a GET helper.
func serve(t *testing.T, handlers map[string]http.Handler) func(path, accept string) (*http.Response, string) {
	t.Helper()
	mux := http.NewServeMux()
	for p, h := range handlers {
		mux.Handle(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return func(path, accept string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
}

func TestIndexAnswersTextOrHTML(t *testing.T) {
	get := serve(t, map[string]http.Handler{"GET /{$}": web.Index(info)})
	for _, tc := range []struct {
		name, accept, contentType string
		want                      []string
	}{
		{"curl gets text", "*/*", "text/plain", []string{"natsock v1.2.3 <b>", "/socket.io/", "/healthz", "/readyz", "/metrics", "2 --map, 1 --inbound", web.README}},
		{"a browser gets HTML, the version escaped", "text/html,application/xhtml+xml", "text/html",
			[]string{"version v1.2.3 &lt;b&gt;", `href="/metrics"`, `href="/healthz"`, web.README}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get("/", tc.accept)
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.contentType) {
				t.Fatalf("%s %s", resp.Status, resp.Header.Get("Content-Type"))
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("the page does not say %q:\n%s", w, body)
				}
			}
		})
	}
}

func TestIndexNamesAMetricsListener(t *testing.T) {
	other := info
	other.Metrics = "127.0.0.1:9090"
	get := serve(t, map[string]http.Handler{"GET /{$}": web.Index(other)})
	for _, accept := range []string{"", "text/html"} {
		if _, body := get("/", accept); !strings.Contains(body, "http://127.0.0.1:9090/metrics") {
			t.Errorf("Accept %q: the page does not name the metrics listener:\n%s", accept, body)
		}
	}
}

func TestDemoServesItsPageAssetsAndConfig(t *testing.T) {
	stats := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"natsock_sockets":1}`)) })
	get := serve(t, web.Demo(info, stats))
	if resp, body := get("/", ""); resp.StatusCode != 200 || !strings.Contains(body, `<script src="/demo/socket.io.min.js">`) {
		t.Errorf("GET /: %s:\n%.300s", resp.Status, body)
	}
	// The socket.io-client bundle, unchanged: its license header first.
	if resp, body := get("/demo/socket.io.min.js", ""); resp.StatusCode != 200 ||
		!strings.HasPrefix(body, "/*!\n * Socket.IO v4.8.4\n") || !strings.Contains(body[:200], "Released under the MIT License.") {
		t.Errorf("GET /demo/socket.io.min.js: %s, starts %.100q", resp.Status, body)
	}
	for _, asset := range []string{"/demo/demo.js", "/demo/demo.css"} {
		if resp, _ := get(asset, ""); resp.StatusCode != 200 {
			t.Errorf("GET %s: %s", asset, resp.Status)
		}
	}
	resp, body := get(web.ConfigPath, "")
	var config struct {
		Version string    `json:"version"`
		Path    string    `json:"socketio_path"`
		Metrics string    `json:"metrics"`
		Maps    []web.Map `json:"maps"`
		Inbound []web.Inbound
	}
	if err := json.Unmarshal([]byte(body), &config); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %v:\n%s", web.ConfigPath, resp.Status, err, body)
	}
	if config.Version != info.Version || config.Path != "/socket.io/" || config.Metrics != "/metrics" ||
		len(config.Maps) != 2 || config.Maps[1].Room != "user:{3}" || len(config.Inbound) != 1 || config.Inbound[0].Event != "taskAssigned" {
		t.Errorf("GET %s: %+v", web.ConfigPath, config)
	}
	if _, body := get(web.StatsPath, ""); body != `{"natsock_sockets":1}` {
		t.Errorf("GET %s: %s, want what the stats handler serves", web.StatsPath, body)
	}
}

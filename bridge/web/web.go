package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"text/tabwriter"
)

// assets are the demo's files, served under DemoPrefix; index.html is the
// page without the demo, a template.
var (
	//go:embed assets
	assets embed.FS
	//go:embed index.html
	indexFS embed.FS
)

// Info is what the pages say about this natsock: its version, where its
// endpoints are, and the rules it runs.
type Info struct {
	// Version is natsock's version, as `natsock version` prints it.
	Version string
	// SocketIOPath is where socket.io is served ("/socket.io/").
	SocketIOPath string
	// Metrics is where the Prometheus metrics are: a path on this
	// listener ("/metrics") or another listener's address.
	Metrics string
	// Maps and Inbound are the rules in use, in order.
	Maps    []Map
	Inbound []Inbound
}

// Map is one --map rule: NATS subjects emitted to socket.io clients.
type Map struct {
	Rule      string `json:"rule"`    // as given
	Subject   string `json:"subject"` // the subject pattern
	Event     string `json:"event"`   // the event name template
	Namespace string `json:"namespace"`
	Room      string `json:"room,omitempty"` // the room template; empty: the whole namespace
}

// Inbound is one --inbound rule: client events published to NATS.
type Inbound struct {
	Rule    string `json:"rule"` // as given
	Event   string `json:"event"`
	Subject string `json:"subject"` // may hold {claim} placeholders
	// Restricted says the rule requires claims, so an anonymous socket's
	// emit is refused.
	Restricted bool `json:"restricted,omitempty"`
}

// README is where natsock's documentation is.
const README = "https://github.com/natsock/natsock#readme"

var indexHTML = template.Must(template.ParseFS(indexFS, "index.html"))

// Index serves the page at "/" when the demo is off: what natsock is, its
// version, and where to look. A browser (Accept: text/html) gets HTML;
// curl and other clients get plain text.
func Index(info Info) http.Handler {
	var html bytes.Buffer
	if err := indexHTML.Execute(&html, info); err != nil {
		panic("web: index.html: " + err.Error()) // the embedded template and Info's fields disagree
	}
	text := indexText(info)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept")
		if strings.Contains(r.Header.Get("Accept"), "text/html") {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(html.Bytes())
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(text)
	})
}

// indexText is the plain-text page.
func indexText(info Info) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "natsock %s\n\n", info.Version)
	b.WriteString("natsock bridges NATS subjects to socket.io clients: each --map rule emits a\n" +
		"subject's messages as a socket.io event, each --inbound rule publishes a\n" +
		"client's event to NATS.\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  %s\tsocket.io (Engine.IO v4; v3 with --allow-eio3)\n", info.SocketIOPath)
	fmt.Fprintf(tw, "  /healthz\tliveness: 200 while the process serves\n")
	fmt.Fprintf(tw, "  /readyz\treadiness: 200 once NATS is connected and subscribed\n")
	fmt.Fprintf(tw, "  %s\tPrometheus metrics\n", metricsWhere(info.Metrics))
	_ = tw.Flush()
	fmt.Fprintf(&b, "\nRules: %d --map, %d --inbound. A demo page: natsock serve --demo.\nDocumentation: %s\n",
		len(info.Maps), len(info.Inbound), README)
	return b.Bytes()
}

// MetricsHere reports whether the metrics are on this listener.
func (info Info) MetricsHere() bool { return strings.HasPrefix(info.Metrics, "/") }

// MetricsURL is where the metrics are, for the pages: a path here, or
// the other listener's URL.
func (info Info) MetricsURL() string { return metricsWhere(info.Metrics) }

// metricsWhere names the metrics' place for the pages.
func metricsWhere(m string) string {
	if strings.HasPrefix(m, "/") {
		return m
	}
	return "http://" + m + "/metrics"
}

// Demo paths: the page's assets and JSON, all under DemoPrefix.
const (
	DemoPrefix = "/demo/"
	ConfigPath = DemoPrefix + "config.json" // Info as JSON: the rules in use
	StatsPath  = DemoPrefix + "stats.json"  // the metrics' totals, for the chart
)

// Demo serves the demo page: the page at "/", its assets (the
// socket.io-client browser bundle among them) under DemoPrefix, the rules
// in use at ConfigPath, and stats (the metrics' JSON view, see package
// metrics) at StatsPath. Its patterns are ServeMux patterns to add to the
// listener's mux with Handle.
func Demo(info Info, stats http.Handler) map[string]http.Handler {
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic("web: " + err.Error())
	}
	config, err := json.Marshal(struct {
		Version      string    `json:"version"`
		SocketIOPath string    `json:"socketio_path"`
		Metrics      string    `json:"metrics"`
		Maps         []Map     `json:"maps"`
		Inbound      []Inbound `json:"inbound"`
	}{info.Version, info.SocketIOPath, metricsWhere(info.Metrics), nonNil(info.Maps), nonNil(info.Inbound)})
	if err != nil {
		panic("web: " + err.Error())
	}
	files := http.StripPrefix(strings.TrimSuffix(DemoPrefix, "/"), http.FileServerFS(static))
	return map[string]http.Handler{
		"GET /{$}": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, static, "demo.html")
		}),
		"GET " + DemoPrefix: files,
		"GET " + ConfigPath: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(config)
		}),
		"GET " + StatsPath: stats,
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

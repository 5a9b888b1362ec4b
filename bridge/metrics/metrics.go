package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/natsock/natsock/bridge"
)

// Path is where the metrics are served, on the main listener or on
// their own.
const Path = "/metrics"

// Metrics is one bridge's Prometheus registry: the bridge's counters
// (read at scrape time), Go's runtime metrics and the process's.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger
}

// New registers b's metrics, and the Go runtime and process collectors,
// in a registry of their own. log receives scrape errors; nil means
// slog.Default().
func New(b *bridge.Bridge, log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.Default()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collector{b},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return &Metrics{reg: reg, log: log}
}

// Registry is the registry, for a caller that adds its own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus's text (or OpenMetrics, when
// asked) exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}

// Totals gathers the registry and sums each natsock_ metric over its
// labels: a counter's or gauge's values, a histogram's observation count.
// It is the same registry /metrics serves, so the two never disagree;
// the demo page charts it.
func (m *Metrics) Totals() (map[string]float64, error) {
	families, err := m.reg.Gather()
	out := make(map[string]float64)
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "natsock_") {
			continue
		}
		total := 0.0
		for _, s := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				total += s.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				total += s.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				total += float64(s.GetHistogram().GetSampleCount())
			}
		}
		out[f.GetName()] = total
	}
	return out, err
}

// TotalsHandler serves Totals as one JSON object, {"natsock_sockets": 3,
// ...}, with "time" (Unix milliseconds) for a poller computing rates.
func (m *Metrics) TotalsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		totals, err := m.Totals()
		if err != nil {
			m.log.Warn("gathering metrics", "err", err)
		}
		body := map[string]any{"time": time.Now().UnixMilli()}
		for k, v := range totals {
			body[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(body)
	})
}

// ErrListen is wrapped by Listen's errors.
var ErrListen = errors.New("metrics: cannot listen")

// Listen opens the metrics' own listener on addr ("host:port"; port 0
// picks a free one), so that a bad address stops natsock before it
// starts serving.
func Listen(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w on %q: want host:port (\"127.0.0.1:9090\", \":9090\"): %v", ErrListen, addr, err)
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		return nil, fmt.Errorf("%w on %q: bad port %q", ErrListen, addr, port)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("%w on %q: %v", ErrListen, addr, err)
	}
	return ln, nil
}

// Serve serves the metrics at Path on ln, and nothing else, until ctx
// ends; then it closes ln, letting a scrape in progress finish for up to
// five seconds. It returns nil after a clean stop.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, m.Handler())
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	m.log.Info("serving metrics", "addr", ln.Addr().String(), "path", Path)
	select {
	case err := <-served:
		return fmt.Errorf("metrics: http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("metrics: shutdown: %w", err)
	}
	<-served
	return nil
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchChartDrawsBothChartsFromCompareData(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "chart.json")
	data := `{"title": "t", "goals": [{"label": "fan-out", "unit": "frames/s", "peer": 1, "natsock": 3}],
	  "growth": [{"title": "memory", "unit": "KiB", "x_label": "connections", "points": [{"x": "1k", "y": 4}]}]}`
	if err := os.WriteFile(in, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	goals, growth := filepath.Join(dir, "goals.svg"), filepath.Join(dir, "growth.svg")
	if code, out := runApp(t, "bench", "chart", "--in", in, "--goals", goals, "--growth", growth); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	for path, want := range map[string]string{goals: "3.0x", growth: "4 KiB"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "<svg ") || !strings.Contains(string(b), want) {
			t.Errorf("%s: want an SVG showing %q, got:\n%s", path, want, b)
		}
	}
}

func TestBenchChartRefusesBadInputNamingTheCause(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"goals": [{"label": "", "unit": "u", "peer": 1, "natsock": 1}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "goals.svg")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no output asked for", []string{"--in", bad}, 2, "nothing to draw"},
		{"a missing file", []string{"--in", filepath.Join(dir, "none.json"), "--goals", out}, 1, "no such file"},
		{"an empty label", []string{"--in", bad, "--goals", out}, 1, "goals[0].label: empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := runApp(t, append([]string{"bench", "chart"}, tc.args...)...)
			if code != tc.code || !strings.Contains(msg, tc.want) {
				t.Errorf("exit %d, %q; want exit %d saying %q", code, msg, tc.code, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was written despite the error", out)
			}
		})
	}
}

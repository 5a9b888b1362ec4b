package bench_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/natsock/natsock/bench"
)

const sampleChart = `{
  "title": "natsock abc1234 vs the Node peer, 2 cores, 2026-12-01",
  "goals": [
    {"label": "fan-out to 1000 clients", "unit": "frames/s", "peer": 202000, "natsock": 2970000, "goal": "at least 10x"},
    {"label": "server CPU per inbound event", "unit": "us", "lower_is_better": true, "peer": 10.3, "natsock": 2.5},
    {"label": "p99 latency, 10,000 clients x 5 msg/s", "unit": "ms", "lower_is_better": true, "peer": 120, "natsock": null}
  ],
  "growth": [
    {"title": "memory per connection", "unit": "KiB", "x_label": "connections",
     "points": [{"x": "1,000", "y": 6.9}, {"x": "10,000", "y": 4.1}, {"x": "19,000", "y": null}]},
    {"title": "server CPU per delivered frame", "unit": "us", "x_label": "payload size",
     "points": [{"x": "100 B", "y": 0.3}, {"x": "16 KiB", "y": 2.25}]}
  ]
}`

// svgTexts checks that b is one well-formed <svg> document and returns
// the text of its <text> elements.
func svgTexts(t *testing.T, b []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var texts []string
	depth, roots := 0, 0
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if el.Name.Local != "svg" || el.Name.Space != "http://www.w3.org/2000/svg" {
					t.Fatalf("the root is %v, want an SVG <svg>", el.Name)
				}
			}
			depth++
			inText = el.Name.Local == "text"
			if inText {
				texts = append(texts, "")
			}
		case xml.EndElement:
			depth--
			inText = false
		case xml.CharData:
			if inText {
				texts[len(texts)-1] += string(el)
			}
		}
	}
	if roots != 1 || depth != 0 {
		t.Fatalf("%d root elements, depth %d at the end: want one closed <svg>", roots, depth)
	}
	return texts
}

func TestTheChartsAreSVGWithEveryLabelValueAndRatio(t *testing.T) {
	d, err := bench.ParseChartData([]byte(sampleChart))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		draw func(io.Writer, *bench.ChartData) error
		want []string
	}{
		{"the goals chart names each row, both values and natsock's ratio", bench.DrawGoals, []string{
			"natsock abc1234 vs the Node peer, 2 cores, 2026-12-01",
			"Node peer (socket.io + nats.js)", "natsock",
			"fan-out to 1000 clients", "202k frames/s", "2.97M frames/s", "14.7x", "goal: at least 10x",
			"server CPU per inbound event (lower is better)", "10.3 us", "2.5 us", "4.1x",
			"p99 latency, 10,000 clients x 5 msg/s (lower is better)", "120 ms", "not measured", "-",
		}},
		{"the growth chart names each measure, its points and its axis", bench.DrawGrowth, []string{
			"memory per connection (KiB)", "connections", "1,000", "10,000", "19,000", "6.9 KiB", "4.1 KiB", "not measured",
			"server CPU per delivered frame (us)", "payload size", "100 B", "16 KiB", "0.3 us", "2.25 us",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.draw(&b, d); err != nil {
				t.Fatal(err)
			}
			texts := svgTexts(t, b.Bytes())
			have := map[string]bool{}
			for _, s := range texts {
				have[s] = true
			}
			for _, w := range tc.want {
				if !have[w] {
					t.Errorf("no text %q in the chart; it has %q", w, texts)
				}
			}
		})
	}
}

func TestTextThatLooksLikeMarkupIsDrawnAsText(t *testing.T) {
	d, err := bench.ParseChartData([]byte(`{"goals": [{"label": "<b>&\"x\"</b>", "unit": "a<b", "peer": 1, "natsock": 2}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := bench.DrawGoals(&b, d); err != nil {
		t.Fatal(err)
	}
	texts := svgTexts(t, b.Bytes())
	if !strings.Contains(strings.Join(texts, "|"), `<b>&"x"</b>`) || !strings.Contains(strings.Join(texts, "|"), "2 a<b") {
		t.Errorf("texts %q: want the label and unit as given", texts)
	}
}

func TestChartDataIsRefusedWithEveryReason(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"not JSON", `goals:`, []string{"invalid character"}},
		{"an unknown field", `{"goals": [], "colour": "red"}`, []string{`unknown field "colour"`}},
		{"nothing to draw", `{"title": "x"}`, []string{"nothing to draw"}},
		{"two documents", `{"goals": [{"label": "a", "unit": "u", "peer": 1, "natsock": 1}]} {}`, []string{"more than one JSON value"}},
		{"a negative value and an empty label, both named",
			`{"goals": [{"label": " ", "unit": "u", "peer": -1, "natsock": 1}]}`,
			[]string{"goals[0].label: empty", "goals[0].peer: -1 is not a measurement"}},
		{"a control character in a label", `{"goals": [{"label": "a\u0007", "unit": "u", "peer": 1, "natsock": 1}]}`,
			[]string{"goals[0].label", "control characters"}},
		{"a growth chart without points", `{"growth": [{"title": "t", "unit": "u", "x_label": "x", "points": []}]}`,
			[]string{"growth[0].points: want 1 to 32 points, have 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bench.ParseChartData([]byte(tc.in))
			if !errors.Is(err, bench.ErrChartData) {
				t.Fatalf("ParseChartData = %v, want ErrChartData", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// FuzzParseChartData: whatever the input, the parser returns data or an
// error, and data it accepts draws as well-formed SVG.
func FuzzParseChartData(f *testing.F) {
	f.Add([]byte(sampleChart))
	f.Add([]byte(`{"goals": [{"label": "a", "unit": "u", "peer": 0, "natsock": 0}]}`))
	f.Add([]byte(`{"growth": [{"title": "t", "unit": "u", "x_label": "x", "points": [{"x": "1", "y": 1e308}]}]}`))
	f.Add([]byte(`{"goals": [{"label": "\u00e9<&>", "unit": "\ud83d\ude00", "peer": null, "natsock": 5e-324}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := bench.ParseChartData(in)
		if err != nil {
			if d != nil || !errors.Is(err, bench.ErrChartData) {
				t.Fatalf("ParseChartData = %v, %v: want nil data and ErrChartData", d, err)
			}
			return
		}
		for _, draw := range []func(io.Writer, *bench.ChartData) error{bench.DrawGoals, bench.DrawGrowth} {
			var b bytes.Buffer
			if err := draw(&b, d); err != nil {
				t.Fatal(err)
			}
			dec := xml.NewDecoder(&b)
			for {
				_, err := dec.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("not well-formed XML: %v\n%s", err, b.String())
				}
			}
		}
	})
}

package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// ChartData is what bench/compare.sh measured, for DrawGoals and
// DrawGrowth: natsock and the Node peer side by side on each goal row, and
// how natsock's costs grow with connections and payload size. It is read
// from JSON by ParseChartData:
//
//	{"title": "natsock 1a2b3c vs the Node peer, 2 cores, 2026-12-01",
//	 "goals": [{"label": "fan-out to 1000 clients", "unit": "frames/s",
//	            "peer": 202000, "natsock": 2970000, "goal": "at least 10x"}],
//	 "growth": [{"title": "memory per connection", "unit": "KiB", "x_label": "connections",
//	             "points": [{"x": "1,000", "y": 6.9}, {"x": "10,000", "y": 6.1}]}]}
//
// A null value was not measured (its run failed) and is drawn as such.
type ChartData struct {
	Title  string        `json:"title"`
	Goals  []GoalRow     `json:"goals"`
	Growth []GrowthChart `json:"growth"`
}

// GoalRow is one row of the comparison: one measure of both servers.
type GoalRow struct {
	Label string `json:"label"`
	Unit  string `json:"unit"`
	// LowerIsBetter is set for costs (latency, CPU, memory); the ratio is
	// then peer over natsock.
	LowerIsBetter bool     `json:"lower_is_better,omitempty"`
	Peer          *float64 `json:"peer"`
	Natsock       *float64 `json:"natsock"`
	Goal          string   `json:"goal,omitempty"` // the goal, as text
}

// GrowthChart is one measure of natsock at several points: connections or
// payload sizes on x, in the order given.
type GrowthChart struct {
	Title  string        `json:"title"`
	Unit   string        `json:"unit"`
	XLabel string        `json:"x_label"`
	Points []GrowthPoint `json:"points"`
}

// GrowthPoint is one measurement of a GrowthChart.
type GrowthPoint struct {
	X string   `json:"x"`
	Y *float64 `json:"y"`
}

// ErrChartData is wrapped by every reason ParseChartData refuses its input.
var ErrChartData = errors.New("bench: invalid chart data")

// Bounds on chart data, so that a chart stays readable and its input
// small.
const (
	maxChartRows   = 64
	maxChartPoints = 32
	maxChartText   = 200
)

// ParseChartData reads and checks chart data (see ChartData); every
// problem is reported, joined into one error.
func ParseChartData(b []byte) (*ChartData, error) {
	var d ChartData
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrChartData, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: more than one JSON value", ErrChartData)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrChartData}, args...)...))
	}
	text := func(where, s string, required bool) {
		switch {
		case required && strings.TrimSpace(s) == "":
			bad("%s: empty", where)
		case len(s) > maxChartText:
			bad("%s: longer than %d bytes", where, maxChartText)
		case !isPrintable(s):
			bad("%s: %q has control characters or invalid UTF-8", where, s)
		}
	}
	value := func(where string, v *float64) {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0) || *v < 0) {
			bad("%s: %v is not a measurement (want a finite number >= 0, or null)", where, *v)
		}
	}
	text("title", d.Title, false)
	if len(d.Goals) == 0 && len(d.Growth) == 0 {
		bad("no goals and no growth: nothing to draw")
	}
	if len(d.Goals) > maxChartRows || len(d.Growth) > maxChartRows {
		bad("more than %d goals or growth charts", maxChartRows)
		return nil, errors.Join(errs...)
	}
	for i, g := range d.Goals {
		where := fmt.Sprintf("goals[%d]", i)
		text(where+".label", g.Label, true)
		text(where+".unit", g.Unit, true)
		text(where+".goal", g.Goal, false)
		value(where+".peer", g.Peer)
		value(where+".natsock", g.Natsock)
	}
	for i, c := range d.Growth {
		where := fmt.Sprintf("growth[%d]", i)
		text(where+".title", c.Title, true)
		text(where+".unit", c.Unit, true)
		text(where+".x_label", c.XLabel, true)
		if len(c.Points) == 0 || len(c.Points) > maxChartPoints {
			bad("%s.points: want 1 to %d points, have %d", where, maxChartPoints, len(c.Points))
		}
		for j, p := range c.Points {
			text(fmt.Sprintf("%s.points[%d].x", where, j), p.X, true)
			value(fmt.Sprintf("%s.points[%d].y", where, j), p.Y)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &d, nil
}

// isPrintable reports whether s is valid UTF-8 without control
// characters: text that XML 1.0 can carry.
func isPrintable(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' || r < 0x20 || (r >= 0x7f && r < 0xa0) || r == '\uFFFE' || r == '\uFFFF' {
			return false
		}
	}
	return true
}

// Colours of the two servers, the same in both charts.
const (
	peerColour    = "#9aa0a6"
	natsockColour = "#1a73e8"
	inkColour     = "#202124"
	faintColour   = "#5f6368"
	gridColour    = "#e0e0e0"
)

// svg builds one SVG document.
type svg struct {
	b strings.Builder
}

func (s *svg) open(w, h int) {
	fmt.Fprintf(&s.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif">`+"\n", w, h, w, h)
	fmt.Fprintf(&s.b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", w, h)
}

// text draws escaped text; anchor is start, middle or end.
func (s *svg) text(x, y float64, size int, anchor, fill, weight, t string) {
	fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" fill="%s"`, x, y, size, anchor, fill)
	if weight != "" {
		fmt.Fprintf(&s.b, ` font-weight="%s"`, weight)
	}
	s.b.WriteString(">")
	_ = xml.EscapeText(&s.b, []byte(t)) // a strings.Builder never fails
	s.b.WriteString("</text>\n")
}

func (s *svg) rect(x, y, w, h float64, fill string) {
	fmt.Fprintf(&s.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", x, y, w, h, fill)
}

func (s *svg) line(x1, y1, x2, y2 float64, stroke string) {
	fmt.Fprintf(&s.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1"/>`+"\n", x1, y1, x2, y2, stroke)
}

func (s *svg) close(w io.Writer) error {
	s.b.WriteString("</svg>\n")
	_, err := io.WriteString(w, s.b.String())
	return err
}

// DrawGoals writes the comparison chart: for each goal row, a bar for the
// peer and one for natsock, scaled to the row's larger value, labelled
// with the values, and natsock's ratio to the peer beside them (how many
// times better: more for a rate, less for a cost).
func DrawGoals(w io.Writer, d *ChartData) error {
	const (
		width   = 960
		top     = 64
		rowH    = 68
		barX    = 24.0
		barMax  = 600.0
		barH    = 15.0
		ratioX  = 800.0
		legendY = 44
	)
	height := top + rowH*len(d.Goals) + 24
	var s svg
	s.open(width, height)
	s.text(barX, 26, 17, "start", inkColour, "bold", chartTitle(d.Title, "natsock vs the Node peer"))
	s.rect(barX, legendY-10, 12, 12, peerColour)
	s.text(barX+18, legendY, 12, "start", inkColour, "", "Node peer (socket.io + nats.js)")
	s.rect(barX+230, legendY-10, 12, 12, natsockColour)
	s.text(barX+248, legendY, 12, "start", inkColour, "", "natsock")
	s.text(ratioX+70, legendY, 12, "middle", faintColour, "", "natsock vs peer")
	for i, g := range d.Goals {
		y := float64(top + rowH*i)
		label := g.Label
		if g.LowerIsBetter {
			label += " (lower is better)"
		}
		s.text(barX, y+14, 13, "start", inkColour, "bold", label)
		scale := math.Max(val(g.Peer), val(g.Natsock))
		for j, v := range []struct {
			p      *float64
			colour string
		}{{g.Peer, peerColour}, {g.Natsock, natsockColour}} {
			by := y + 21 + float64(j)*(barH+3)
			if v.p == nil {
				s.text(barX, by+barH-3, 12, "start", faintColour, "", "not measured")
				continue
			}
			bw := 1.0
			if scale > 0 {
				bw = math.Max(1, barMax**v.p/scale)
			}
			s.rect(barX, by, bw, barH, v.colour)
			s.text(barX+bw+6, by+barH-3, 12, "start", inkColour, "", formatValue(*v.p, g.Unit))
		}
		s.text(ratioX+70, y+38, 18, "middle", natsockColour, "bold", ratio(g))
		if g.Goal != "" {
			s.text(ratioX+70, y+55, 11, "middle", faintColour, "", "goal: "+g.Goal)
		}
		if i > 0 {
			s.line(barX, y-6, width-barX, y-6, gridColour)
		}
	}
	return s.close(w)
}

// DrawGrowth writes the growth chart: one small line chart per measure,
// two to a row, each with its points labelled.
func DrawGrowth(w io.Writer, d *ChartData) error {
	const (
		width  = 960
		top    = 44
		panelW = 456
		panelH = 250
		gap    = 16
	)
	rows := (len(d.Growth) + 1) / 2
	height := top + rows*(panelH+gap) + 8
	var s svg
	s.open(width, height)
	title := "how natsock's costs grow"
	if d.Title != "" {
		title = d.Title + ": " + title
	}
	s.text(gap, 26, 17, "start", inkColour, "bold", title)
	for i, c := range d.Growth {
		x0 := float64(gap + (i%2)*(panelW+gap))
		y0 := float64(top + (i/2)*(panelH+gap))
		drawPanel(&s, x0, y0, panelW, panelH, c)
	}
	return s.close(w)
}

// drawPanel draws one GrowthChart in the box at x0, y0.
func drawPanel(s *svg, x0, y0, w, h float64, c GrowthChart) {
	const (
		left   = 58.0
		right  = 20.0
		head   = 30.0
		bottom = 40.0
	)
	s.text(x0+8, y0+18, 13, "start", inkColour, "bold", c.Title+" ("+c.Unit+")")
	px, py := x0+left, y0+head
	pw, ph := w-left-right, h-head-bottom
	top := 0.0
	for _, p := range c.Points {
		top = math.Max(top, val(p.Y))
	}
	top = niceCeil(top * 1.15)
	for k := 0; k <= 4; k++ {
		gy := py + ph - ph*float64(k)/4
		s.line(px, gy, px+pw, gy, gridColour)
		s.text(px-6, gy+4, 11, "end", faintColour, "", formatNumber(top*float64(k)/4))
	}
	s.text(px+pw/2, y0+h-6, 12, "middle", faintColour, "", c.XLabel)
	step := pw / float64(len(c.Points))
	var path strings.Builder
	for j, p := range c.Points {
		cx := px + step*(float64(j)+0.5)
		s.text(cx, py+ph+16, 11, "middle", inkColour, "", p.X)
		if p.Y == nil {
			s.text(cx, py+ph-6, 11, "middle", faintColour, "", "not measured")
			continue
		}
		cy := py + ph - ph**p.Y/top
		if path.Len() == 0 {
			fmt.Fprintf(&path, "M%.1f %.1f", cx, cy)
		} else {
			fmt.Fprintf(&path, " L%.1f %.1f", cx, cy)
		}
		fmt.Fprintf(&s.b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>`+"\n", cx, cy, natsockColour)
		s.text(cx, cy-9, 11, "middle", inkColour, "", formatValue(*p.Y, c.Unit))
	}
	if path.Len() > 0 {
		fmt.Fprintf(&s.b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", path.String(), natsockColour)
	}
}

func chartTitle(title, fallback string) string {
	if title == "" {
		return fallback
	}
	return title
}

func val(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// ratio is how many times better natsock is than the peer on g.
func ratio(g GoalRow) string {
	if g.Peer == nil || g.Natsock == nil {
		return "-"
	}
	a, b := *g.Natsock, *g.Peer
	if g.LowerIsBetter {
		a, b = b, a
	}
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", a/b)
}

// formatValue writes v with three significant digits (k and M for large
// numbers) and its unit.
func formatValue(v float64, unit string) string {
	return formatNumber(v) + " " + unit
}

func formatNumber(v float64) string {
	switch {
	case v >= 999.5e3:
		return trimZeros(fmt.Sprintf("%.3g", v/1e6)) + "M"
	case v >= 9999.5:
		return trimZeros(fmt.Sprintf("%.3g", v/1e3)) + "k"
	case v == 0:
		return "0"
	}
	return trimZeros(fmt.Sprintf("%.3g", v))
}

// trimZeros turns %g's exponent form of whole numbers back into digits
// ("1e+03" cannot happen below the k bound, but "100" must stay "100").
func trimZeros(s string) string {
	if strings.ContainsAny(s, "e") {
		var f float64
		if _, err := fmt.Sscan(s, &f); err == nil {
			return fmt.Sprintf("%.0f", f)
		}
	}
	return s
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten, for an
// axis's top.
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

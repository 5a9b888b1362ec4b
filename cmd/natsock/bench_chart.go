package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/natsock/natsock/bench"
)

// benchChartCommand draws bench/compare.sh's results as SVG charts.
func benchChartCommand() *cli.Command {
	return &cli.Command{
		Name:      "chart",
		Usage:     "draw bench/compare.sh's results as SVG: natsock vs the peer on each goal row, and how costs grow",
		ArgsUsage: " ",
		Description: `Reads the chart data bench/compare.sh writes (chart.json in its results
directory: the title, each goal row's value for the Node peer and for natsock,
and natsock's costs at several connection counts and payload sizes) and draws
--goals, one bar pair per goal row with natsock's ratio to the peer, and
--growth, one small line chart per measure. A value that is null was not
measured and is drawn as such.

Examples:
  natsock bench chart --in results/chart.json --goals docs/bench-goals.svg --growth docs/bench-growth.svg`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "in", Required: true, Usage: "the chart data (JSON, as bench/compare.sh writes it); - for standard input"},
			&cli.StringFlag{Name: "goals", Usage: "write the goal rows' chart, natsock vs the peer, to this SVG file"},
			&cli.StringFlag{Name: "growth", Usage: "write the growth chart (cost by connections and payload size) to this SVG file"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit("natsock bench chart: takes no arguments", 2)
			}
			if c.String("goals") == "" && c.String("growth") == "" {
				return cli.Exit("natsock bench chart: nothing to draw: give --goals FILE.svg, --growth FILE.svg or both", 2)
			}
			in, err := readInput(c.String("in"))
			if err != nil {
				return cli.Exit(fmt.Sprintf("natsock bench chart: --in: %v", err), 1)
			}
			d, err := bench.ParseChartData(in)
			if err != nil {
				return cli.Exit(fmt.Sprintf("natsock bench chart: %s: %v", c.String("in"), err), 1)
			}
			for _, out := range []struct {
				flag string
				draw func(io.Writer, *bench.ChartData) error
				n    int
			}{{"goals", bench.DrawGoals, len(d.Goals)}, {"growth", bench.DrawGrowth, len(d.Growth)}} {
				path := c.String(out.flag)
				if path == "" {
					continue
				}
				if out.n == 0 {
					return cli.Exit(fmt.Sprintf("natsock bench chart: --%s: %s has no %s rows to draw", out.flag, c.String("in"), out.flag), 1)
				}
				if err := writeChart(path, d, out.draw); err != nil {
					return cli.Exit(fmt.Sprintf("natsock bench chart: --%s: %v", out.flag, err), 1)
				}
			}
			return nil
		},
	}
}

func readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	}
	return os.ReadFile(path)
}

// writeChart draws into a temporary file beside path and renames it, so
// that a failed draw leaves the old chart in place.
func writeChart(path string, d *bench.ChartData, draw func(io.Writer, *bench.ChartData) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".chart-*.svg")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename, nothing to remove
	if err := errors.Join(draw(f, d), f.Close()); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

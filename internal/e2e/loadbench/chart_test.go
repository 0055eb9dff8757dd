package loadbench_test

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Layout of a chart: a grid of small panels, one per operation.
const (
	chartCols   = 4
	panelWidth  = 3.2 * vg.Inch
	panelHeight = 2.4 * vg.Inch
	headerSize  = 0.6 * vg.Inch
)

// roundColors tell the latency rounds apart, the same in every panel.
var roundColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
}

// chart draws value against concurrency as an SVG: one small panel per
// operation (each with its own y scale, from 0: the operations differ by
// orders of magnitude), a line per latency round, the legend once above.
func chart(rep *report, title, unit string, value func(result) float64) ([]byte, error) {
	panels := panelNames(rep.Results)
	if len(panels) == 0 {
		return nil, fmt.Errorf("chart %q: no results", title)
	}
	rows := (len(panels) + chartCols - 1) / chartCols
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, chartCols)
	}
	var legend []plot.Thumbnailer
	for i, name := range panels {
		p, thumbs, err := panel(rep, name, unit, value)
		if err != nil {
			return nil, fmt.Errorf("chart %q, %s: %w", title, name, err)
		}
		grid[i/chartCols][i%chartCols] = p
		if len(thumbs) > len(legend) {
			legend = thumbs
		}
	}
	canvas := vgsvg.New(chartCols*panelWidth, vg.Length(rows)*panelHeight+headerSize)
	dc := draw.New(canvas)
	header(dc, title, rep, legend)
	body := draw.Crop(dc, 0, 0, 0, -headerSize)
	tiles := draw.Tiles{Rows: rows, Cols: chartCols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2}
	cells := plot.Align(grid, tiles, body)
	for j, row := range grid {
		for i, p := range row {
			if p != nil {
				p.Draw(cells[j][i])
			}
		}
	}
	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("chart %q: %w", title, err)
	}
	return buf.Bytes(), nil
}

// panelNames are "bff operation" of the results, in table order.
func panelNames(results []result) []string {
	var names []string
	for _, r := range results {
		if n := r.BFF + " " + r.Operation; !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// panel is one operation's plot: value against concurrency (a log scale:
// the levels are 1, 8, 32), a line per latency round; it returns each
// line's thumbnail for the legend.
func panel(rep *report, name, unit string, value func(result) float64) (*plot.Plot, []plot.Thumbnailer, error) {
	p := plot.New()
	p.Title.Text = name
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.X.Label.Text = "concurrency"
	p.Y.Label.Text = unit
	p.X.Scale = plot.LogScale{}
	var ticks plot.ConstantTicks
	for _, l := range rep.Levels {
		ticks = append(ticks, plot.Tick{Value: float64(l), Label: strconv.Itoa(l)})
	}
	p.X.Tick.Marker = ticks
	p.Y.Tick.Marker = plainTicks{}
	p.Add(plotter.NewGrid())
	var thumbs []plot.Thumbnailer
	top := 0.0
	for i, latency := range rep.Latencies {
		var xys plotter.XYs
		for _, r := range rep.Results {
			if r.BFF+" "+r.Operation == name && r.Latency == latency && r.Requests > 0 {
				xys = append(xys, plotter.XY{X: float64(r.Concurrency), Y: value(r)})
				top = math.Max(top, value(r))
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, nil, err
		}
		c := roundColors[i%len(roundColors)]
		line.Color, points.Color = c, c
		line.Width = vg.Points(1.5)
		points.Shape = draw.CircleGlyph{}
		p.Add(line, points)
		thumbs = append(thumbs, legendEntry{label: "service latency " + latencyText(latency), line: line, points: points})
	}
	// Room around the levels, and a y axis from 0 with some headroom.
	if len(rep.Levels) > 0 {
		p.X.Min, p.X.Max = float64(slices.Min(rep.Levels))*0.8, float64(slices.Max(rep.Levels))*1.25
	}
	p.Y.Min, p.Y.Max = 0, math.Max(top*1.1, 1e-3)
	return p, thumbs, nil
}

// legendEntry is a latency round in the legend: its line and its points.
type legendEntry struct {
	label  string
	line   *plotter.Line
	points *plotter.Scatter
}

func (e legendEntry) Thumbnail(c *draw.Canvas) {
	e.line.Thumbnail(c)
	e.points.Thumbnail(c)
}

// header writes the title, the run's context and the legend above the
// panels.
func header(dc draw.Canvas, title string, rep *report, legend []plot.Thumbnailer) {
	top := draw.Crop(dc, 0, 0, dc.Max.Y-dc.Min.Y-headerSize, 0)
	style := text.Style{
		Color: color.Black, Font: font.From(plot.DefaultFont, 14),
		Handler: plot.DefaultTextHandler, YAlign: draw.YTop,
	}
	at := vg.Point{X: top.Min.X + vg.Millimeter*4, Y: top.Max.Y - vg.Millimeter*2}
	top.FillText(style, at, title)
	style.Font.Size = 9
	at.Y -= 20
	top.FillText(style, at, fmt.Sprintf("%s, %s, %d CPUs, closed loop of N workers, %s s runs: make bench", rep.Date, rep.GoVersion, rep.CPUs, strconv.FormatFloat(rep.RunSeconds, 'g', -1, 64)))
	// The legend on the right, its lines before their labels: a viewer
	// without the chart's font (Liberation) draws wider or narrower text
	// than measured here, which must not run over the lines.
	l := plot.NewLegend()
	l.Top, l.Left = true, true
	l.TextStyle.Font.Size = 10
	for _, th := range legend {
		l.Add(th.(legendEntry).label, th)
	}
	l.Draw(draw.Crop(top, top.Max.X-top.Min.X-2.2*vg.Inch, 0, 0, -vg.Millimeter*2))
}

// plainTicks are plot's default ticks labelled without trailing zeros
// ("250", not "250.00").
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = strconv.FormatFloat(t.Value, 'f', -1, 64)
		}
	}
	return ticks
}

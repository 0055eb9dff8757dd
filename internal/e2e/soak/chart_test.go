package soak_test

import (
	"fmt"
	"strings"
)

// chart draws the samples as an SVG of four panels (RSS, goroutines, open
// file descriptors, latency), one line per BFF, the seconds a fault was on
// shaded.
func chart(samples []sample) []byte {
	const (
		width, panelH, left, right, top, gap = 960.0, 150.0, 60.0, 20.0, 50.0, 40.0
	)
	panels := []struct {
		title string
		lines map[string]func(sample) float64
	}{
		{"RSS (MiB)", map[string]func(sample) float64{
			"bff-web": func(s sample) float64 { return s.RSSMiB["bff-web"] }, "bff-mobile": func(s sample) float64 { return s.RSSMiB["bff-mobile"] }}},
		{"goroutines", map[string]func(sample) float64{
			"bff-web": func(s sample) float64 { return s.Goroutines["bff-web"] }, "bff-mobile": func(s sample) float64 { return s.Goroutines["bff-mobile"] }}},
		{"open file descriptors", map[string]func(sample) float64{
			"bff-web": func(s sample) float64 { return s.FDs["bff-web"] }, "bff-mobile": func(s sample) float64 { return s.FDs["bff-mobile"] }}},
		{"latency per second (ms): p50, p99", map[string]func(sample) float64{
			"p50": func(s sample) float64 { return s.P50 }, "p99": func(s sample) float64 { return s.P99 }}},
	}
	colors := map[string]string{"bff-web": "#1f77b4", "bff-mobile": "#d62728", "p50": "#2ca02c", "p99": "#9467bd"}
	height := top + float64(len(panels))*(panelH+gap)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="18" font-size="14">Soak: both BFFs, sampled every second; shaded: a fault on a service</text>`+"\n", left)
	n := len(samples)
	if n < 2 {
		b.WriteString("</svg>\n")
		return []byte(b.String())
	}
	plotW := width - left - right
	x := func(i int) float64 { return left + plotW*float64(i)/float64(n-1) }
	for p, panel := range panels {
		y0 := top + float64(p)*(panelH+gap)
		maxV := 1.0
		for _, get := range panel.lines {
			for _, s := range samples {
				maxV = max(maxV, get(s))
			}
		}
		maxV *= 1.1
		y := func(v float64) float64 { return y0 + panelH - panelH*v/maxV }
		// Faults.
		for i := 0; i < n; i++ {
			if samples[i].Fault == "" {
				continue
			}
			j := i
			for j < n && samples[j].Fault == samples[i].Fault {
				j++
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f2e6c9"/>`+"\n", x(i), y0, x(min(j, n-1))-x(i), panelH)
			i = j - 1
		}
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`+"\n", left, y0, plotW, panelH)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f">%s</text>`+"\n", left, y0-6, panel.title)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%.0f</text>`+"\n", left-4, y0+10, maxV)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">0</text>`+"\n", left-4, y0+panelH)
		k := 0
		for _, name := range []string{"bff-web", "bff-mobile", "p50", "p99"} {
			get, ok := panel.lines[name]
			if !ok {
				continue
			}
			var pts strings.Builder
			for i, s := range samples {
				fmt.Fprintf(&pts, "%.1f,%.1f ", x(i), y(get(s)))
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.2" points="%s"/>`+"\n", colors[name], strings.TrimSpace(pts.String()))
			fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" fill="%s">%s</text>`+"\n", width-right-180+float64(k)*90, y0-6, colors[name], name)
			k++
		}
	}
	last := samples[n-1].At
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">0 s</text><text x="%.0f" y="%.0f" text-anchor="end">%.0f s</text>`+"\n",
		left, height-8, width-right, height-8, last.Seconds())
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

package main

import (
	"fmt"
	"strings"
)

// SVG draws a run: queue depth and throttled requests per second over time, each scaled to
// its own maximum (labelled), and the oldest message's age.
func SVG(title string, r Result) string {
	const w, h, left, top = 720.0, 300.0, 60.0, 40.0
	pw, ph := w-left-20, h-top-40
	var maxT, maxDepth, maxThr, maxAge float64 = 1, 1, 1, 1
	for _, p := range r.Series {
		maxT = max(maxT, p.T)
		maxDepth = max(maxDepth, float64(p.Depth))
		maxThr = max(maxThr, p.Throttled)
		maxAge = max(maxAge, p.OldestAge)
	}
	line := func(color string, y func(Point) float64, peak float64) string {
		var b strings.Builder
		for i, p := range r.Series {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&b, "%s%.1f,%.1f ", cmd, left+p.T/maxT*pw, top+ph-y(p)/peak*ph)
		}
		return fmt.Sprintf(`<path d="%s" fill="none" stroke="%s" stroke-width="1.5"/>`, b.String(), color)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%.0f" y="20" font-size="14">%s</text>`, left, escape(title))
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`, left, top, pw, ph)
	b.WriteString(line("#1f77b4", func(p Point) float64 { return float64(p.Depth) }, maxDepth))
	b.WriteString(line("#d62728", func(p Point) float64 { return p.Throttled }, maxThr))
	b.WriteString(line("#2ca02c", func(p Point) float64 { return p.OldestAge }, maxAge))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">time (s), 0 to %.0f</text>`, left, h-10, maxT)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="#1f77b4">queue depth (max %.0f)</text>`, left+200, h-10, maxDepth)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="#d62728">429/s (max %.0f)</text>`, left+380, h-10, maxThr)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="#2ca02c">oldest age (max %.0f s)</text>`, left+500, h-10, maxAge)
	b.WriteString(`</svg>`)
	return b.String()
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

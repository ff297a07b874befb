package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progressLine shows a long operation's progress on one terminal line,
// rewritten in place, once it has run for a second. Off a terminal it shows
// nothing: logs and pipes get only the result.
type progressLine struct {
	w     io.Writer
	on    bool
	start time.Time
	mu    sync.Mutex
	last  time.Time
	shown bool
}

const (
	progressAfter = time.Second
	progressEvery = 100 * time.Millisecond
)

func (c *cli) progress() *progressLine {
	return &progressLine{w: c.stderr, on: c.terminal, start: time.Now()}
}

// show rewrites the line; calls come from several goroutines.
func (p *progressLine) show(format string, args ...any) {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.start) < progressAfter || now.Sub(p.last) < progressEvery {
		return
	}
	p.last, p.shown = now, true
	fmt.Fprintf(p.w, "\r\033[K"+format+" (%s)", append(args, now.Sub(p.start).Round(time.Second))...)
}

// done clears the line before the result is printed.
func (p *progressLine) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// ANSI sequences the live view uses.
const (
	ansiAltScreen   = "\033[?1049h" // a screen of its own, as top and less use
	ansiMainScreen  = "\033[?1049l" // back to the terminal as it was
	ansiHideCursor  = "\033[?25l"
	ansiShowCursor  = "\033[?25h"
	ansiHome        = "\033[H"  // cursor home
	ansiClearLine   = "\033[K"  // clear to the end of the line
	ansiClearBelow  = "\033[J"  // clear to the end of the screen
	ansiClearScreen = "\033[2J" // clear the whole screen
)

// screen is the terminal the live view redraws in place. On a terminal it
// reads single keys (raw mode) on its own screen, and close restores the
// terminal as it found it; elsewhere it only redraws.
type screen struct {
	out     io.Writer
	in      *os.File // nil: keys are not read
	restore func()
}

// openScreen takes the terminal when both stdin and stdout are one.
func openScreen(c *cli) *screen {
	s := &screen{out: c.stdout, restore: func() {}}
	in, okIn := c.stdin.(*os.File)
	out, okOut := c.stdout.(*os.File)
	if !okIn || !okOut || !term.IsTerminal(int(in.Fd())) || !term.IsTerminal(int(out.Fd())) {
		return s
	}
	state, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return s
	}
	s.in = in
	fmt.Fprint(out, ansiAltScreen+ansiHideCursor+ansiClearScreen)
	s.restore = func() {
		fmt.Fprint(out, ansiShowCursor+ansiMainScreen)
		_ = term.Restore(int(in.Fd()), state)
	}
	return s
}

// draw redraws the screen in place: home, each line cleared to its end,
// the rest of the screen cleared. Raw mode needs "\r\n" line ends.
func (s *screen) draw(lines []string) {
	var b strings.Builder
	b.WriteString(ansiHome)
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString(ansiClearLine + "\r\n")
	}
	b.WriteString(ansiClearBelow)
	fmt.Fprint(s.out, b.String())
}

// quit returns a channel closed when the person presses q or Ctrl-C (raw
// mode delivers Ctrl-C as a key, not a signal); never closed off a
// terminal, where SIGINT ends the view.
func (s *screen) quit() <-chan struct{} {
	ch := make(chan struct{})
	if s.in == nil {
		return ch
	}
	go func() {
		buf := make([]byte, 16)
		for {
			n, err := s.in.Read(buf)
			if err != nil {
				return
			}
			if strings.ContainsAny(string(buf[:n]), "qQ\x03\x04") {
				close(ch)
				return
			}
		}
	}()
	return ch
}

func (s *screen) close() { s.restore() }

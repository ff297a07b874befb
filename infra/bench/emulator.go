package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// rieFinder locates aws-lambda-rie: the flag, $HUB_RIE, .tools/bin, PATH.
func rieFinder(root, flagValue string) (string, error) {
	for _, p := range []string{flagValue, os.Getenv("HUB_RIE"), filepath.Join(root, ".tools", "bin", "aws-lambda-rie")} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, nil
	}
	return "", errors.New("aws-lambda-rie not found: run `make tools`, or pass -rie PATH")
}

// emulator is one aws-lambda-rie process running one bootstrap.
type emulator struct {
	cmd     *exec.Cmd
	url     string
	mu      sync.Mutex
	out     bytes.Buffer
	started time.Time
}

func (e *emulator) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.out.Write(p)
}

func (e *emulator) output() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.out.String()
}

// startEmulator runs the bootstrap under the emulator. Its runtime API
// always binds 127.0.0.1:9001, so only one runs at a time.
func startEmulator(rie, bootstrapPath string, env []string) (*emulator, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	e := &emulator{url: "http://" + addr + "/2015-03-31/functions/function/invocations"}
	e.cmd = exec.Command(rie, "--runtime-interface-emulator-address", addr, bootstrapPath)
	e.cmd.Dir = filepath.Dir(bootstrapPath)
	e.cmd.Env = append(os.Environ(), env...)
	e.cmd.Stdout, e.cmd.Stderr = e, e
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	e.started = time.Now()
	if err := e.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
			return e, nil
		}
		if time.Now().After(deadline) {
			e.stop()
			return nil, fmt.Errorf("emulator did not listen on %s (is 127.0.0.1:9001 taken by another emulator?): %s", addr, e.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the emulator's process group, which this program started.
func (e *emulator) stop() {
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	_ = e.cmd.Wait()
}

func (e *emulator) invoke(payload []byte) ([]byte, error) {
	resp, err := http.Post(e.url, "application/json", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("invoke: HTTP %d: %s", resp.StatusCode, body)
	}
	return body, nil
}

var (
	initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	reportLine = regexp.MustCompile(`REPORT RequestId: \S+\s+(?:Init Duration: [0-9.]+ ms\s+)?Duration: ([0-9.]+) ms`)
)

// coldStart is one cold start under the emulator.
type coldStart struct {
	initMs       float64       // the emulator's INIT REPORT, -1 when absent
	firstInvoke  time.Duration // from the emulator's start to the first answer
	warmDuration []float64     // REPORT Duration of the warm invocations, ms
}

// measureColdStart starts the emulator, invokes payload once cold and warm
// times more, and reads the emulator's reports.
func measureColdStart(rie, path string, env []string, payload func(i int) []byte, check func([]byte) error, warm int) (coldStart, error) {
	e, err := startEmulator(rie, path, env)
	if err != nil {
		return coldStart{}, err
	}
	defer e.stop()
	var cs coldStart
	for i := range warm + 1 {
		out, err := e.invoke(payload(i))
		if err == nil && check != nil {
			err = check(out)
		}
		if err != nil {
			return cs, fmt.Errorf("%w\nemulator output:\n%s", err, tail(e.output(), 2000))
		}
		if i == 0 {
			cs.firstInvoke = time.Since(e.started)
		}
	}
	// The REPORT line of the last invocation comes just after its answer.
	deadline := time.Now().Add(2 * time.Second)
	for len(reportLine.FindAllStringSubmatch(e.output(), -1)) < warm+1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	log := e.output()
	cs.initMs = -1
	if m := initReport.FindStringSubmatch(log); m != nil {
		cs.initMs, _ = strconv.ParseFloat(m[1], 64)
	}
	for i, m := range reportLine.FindAllStringSubmatch(log, -1) {
		if i == 0 {
			continue // the cold invocation
		}
		d, _ := strconv.ParseFloat(m[1], 64)
		cs.warmDuration = append(cs.warmDuration, d)
	}
	return cs, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

package hubtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Monetbil is a stand-in for checkPayment: it answers each payment id with
// the status set for it, after failing the number of times asked.
type Monetbil struct {
	*httptest.Server
	mu       sync.Mutex
	status   map[string]int
	fail     map[string]int
	delay    map[string]time.Duration
	until    map[string]time.Time
	calls    map[string][]time.Time
	requests int
}

// NewMonetbil starts the stand-in, stopped when the test ends.
func NewMonetbil(t testing.TB) *Monetbil {
	m := &Monetbil{status: map[string]int{}, fail: map[string]int{}, delay: map[string]time.Duration{}, until: map[string]time.Time{}, calls: map[string][]time.Time{}}
	m.Server = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.Close)
	return m
}

// Set makes paymentID confirm with code (1 success, 0 failed, -1
// cancelled, 7/8/9 the same in test mode) after failing fails times with
// HTTP 500 (-1: always), each answer taking delay.
func (m *Monetbil) Set(paymentID string, code, fails int, delay time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status[paymentID], m.fail[paymentID], m.delay[paymentID] = code, fails, delay
}

// FailUntil makes paymentID fail with HTTP 500 until the time given (an
// outage of checkPayment), then confirm with code.
func (m *Monetbil) FailUntil(paymentID string, code int, until time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status[paymentID], m.fail[paymentID], m.until[paymentID] = code, 0, until
}

// Requests counts the checkPayment requests received.
func (m *Monetbil) Requests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests
}

// Calls returns when paymentID was asked about.
func (m *Monetbil) Calls(paymentID string) []time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Time(nil), m.calls[paymentID]...)
}

func (m *Monetbil) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/payment/v1/checkPayment" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id := r.PostForm.Get("paymentId")
	m.mu.Lock()
	m.requests++
	m.calls[id] = append(m.calls[id], time.Now())
	code, known := m.status[id]
	fails, delay := m.fail[id], m.delay[id]
	if fails > 0 {
		m.fail[id] = fails - 1
	}
	if time.Now().Before(m.until[id]) {
		fails = -1
	}
	m.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case fails != 0:
		http.Error(w, `{"error":"temporarily unavailable"}`, http.StatusInternalServerError)
	case !known:
		http.Error(w, `{"error":"unknown payment"}`, http.StatusNotFound)
	default:
		w.Header().Set("Content-Type", "application/json")
		testmode := code >= 7
		fmt.Fprintf(w, `{"transaction":{"status":%d,"testmode":%t}}`, code, testmode)
	}
}

// Package sandbox is a LOCAL DEVELOPMENT stand-in for Monetbil's
// checkPayment endpoint, served by `hubctl dev` when MONETBIL_API_URL is not
// set. It confirms what `hubctl send monetbil` registered for a payment, and
// can be told to fail first, to watch the retry schedule. It is never used
// in production: the processor's default stays the real Monetbil API.
package sandbox

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Prefix is where the sandbox is mounted on the dev server; the processor's
// MONETBIL_API_URL is <dev server>/sandbox/monetbil.
const Prefix = "/sandbox/monetbil"

// Paths under Prefix.
const (
	CheckPaymentPath = "/payment/v1/checkPayment"
	// RegisterPath takes a form: paymentId, status (success, failed,
	// cancelled), fail (how many checkPayment calls answer 500 first), and
	// the payment's payment_ref, amount and currency, which checkPayment
	// then answers with.
	RegisterPath = "/payments"
)

type payment struct {
	code   int
	fails  int
	fields map[string]string
}

// Sandbox serves checkPayment from registered payments.
type Sandbox struct {
	mu       sync.Mutex
	payments map[string]*payment
	log      *slog.Logger
}

// New returns an empty sandbox.
func New(log *slog.Logger) *Sandbox {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sandbox{payments: map[string]*payment{}, log: log}
}

// Codes are checkPayment's status codes for the posted statuses.
var Codes = map[string]int{"success": 1, "failed": 0, "cancelled": -1}

// Register sets how paymentID is confirmed: its status, after failing fails
// times, and the payment's own fields (payment_ref, amount, currency; empty
// ones are left out of the answer).
func (s *Sandbox) Register(paymentID, status string, fails int, fields map[string]string) error {
	code, ok := Codes[status]
	if !ok {
		return fmt.Errorf("status %q: want success, failed or cancelled", status)
	}
	if fails < 0 {
		return fmt.Errorf("fail %d: want 0 or more", fails)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.payments[paymentID] = &payment{code: code, fails: fails, fields: fields}
	return nil
}

// ServeHTTP serves the routes under Prefix (the caller strips it).
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Sandbox", "local Monetbil sandbox for development only")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case RegisterPath:
		fails, _ := strconv.Atoi(r.PostForm.Get("fail"))
		fields := map[string]string{}
		for _, k := range []string{"payment_ref", "amount", "currency"} {
			if v := r.PostForm.Get(k); v != "" {
				fields[k] = v
			}
		}
		if err := s.Register(r.PostForm.Get("paymentId"), r.PostForm.Get("status"), fails, fields); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case CheckPaymentPath:
		s.checkPayment(w, r.PostForm.Get("paymentId"))
	default:
		http.NotFound(w, r)
	}
}

func (s *Sandbox) checkPayment(w http.ResponseWriter, id string) {
	s.mu.Lock()
	p, ok := s.payments[id]
	failing := ok && p.fails > 0
	if failing {
		p.fails--
	}
	s.mu.Unlock()
	switch {
	case !ok:
		s.log.Info("sandbox checkPayment: unknown payment", "payment_id", id, "answer", 404)
		http.Error(w, `{"error":"unknown payment (register it with hubctl send monetbil)"}`, http.StatusNotFound)
	case failing:
		s.log.Info("sandbox checkPayment: failing as asked", "payment_id", id, "answer", 500)
		http.Error(w, `{"error":"sandbox: failing as asked by --fail-confirmations"}`, http.StatusInternalServerError)
	default:
		s.log.Info("sandbox checkPayment: confirmed", "payment_id", id, "code", p.code)
		answer := map[string]any{"transaction_id": id, "status": p.code, "testmode": false}
		for k, v := range p.fields {
			answer[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"transaction": answer})
	}
}

// Package stripewebhook verifies Stripe-Signature headers with stripe-go's
// webhook package and decodes the few fields of a Stripe event the hub needs.
//
// Verification is signature-only (webhook.ValidatePayloadWithTolerance), never
// ConstructEvent: ConstructEvent refuses events whose API version differs from
// the library's pinned one, which would turn an SDK upgrade or an endpoint
// API-version change into dropped webhooks.
package stripewebhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/payments-hub/hub/internal/logging"
)

// DefaultTolerance is Stripe's own replay window.
const DefaultTolerance = 300 * time.Second

// Reason says why a delivery was refused. Its values are stable: they are
// returned to the caller and logged.
type Reason string

// Reasons a signature check fails.
const (
	ReasonMissingSignature Reason = "missing_signature"
	ReasonInvalidHeader    Reason = "invalid_signature_header"
	ReasonBadSignature     Reason = "signature_mismatch"
	ReasonTooOld           Reason = "timestamp_too_old"
	ReasonInFuture         Reason = "timestamp_in_future"
	ReasonNotAnEvent       Reason = "not_a_stripe_event"
)

// Error is a refused delivery.
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string { return string(e.Reason) + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Verifier checks Stripe-Signature headers against one or more endpoint
// secrets. Several secrets are accepted so that a rolled secret keeps
// working until the old one expires.
type Verifier struct {
	secrets   []string
	tolerance time.Duration
	now       func() time.Time
}

// NewVerifier returns a verifier for the given secrets. A zero tolerance
// means DefaultTolerance.
func NewVerifier(secrets []string, tolerance time.Duration) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, errors.New("stripewebhook: at least one signing secret is required")
	}
	for i, s := range secrets {
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("stripewebhook: signing secret %d is empty", i+1)
		}
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	return &Verifier{secrets: secrets, tolerance: tolerance, now: time.Now}, nil
}

// WithClock returns a copy of v that reads the time from now (for tests).
func (v *Verifier) WithClock(now func() time.Time) *Verifier {
	c := *v
	c.now = now
	return &c
}

// Verify checks header against payload. The payload must be the raw request
// body exactly as received. On failure it returns an *Error.
func (v *Verifier) Verify(payload []byte, header string) error {
	if strings.TrimSpace(header) == "" {
		return &Error{ReasonMissingSignature, webhook.ErrNotSigned}
	}
	// stripe-go only refuses timestamps that are too old. A timestamp far in
	// the future is as suspicious (a pre-signed replay), so refuse both ends
	// of the window.
	ts, err := Timestamp(header)
	if err != nil {
		return &Error{ReasonInvalidHeader, err}
	}
	now := v.now()
	if ts.Sub(now) > v.tolerance {
		return &Error{ReasonInFuture, fmt.Errorf("timestamp %s is more than %s ahead", ts.UTC().Format(time.RFC3339), v.tolerance)}
	}
	if now.Sub(ts) > v.tolerance {
		return &Error{ReasonTooOld, webhook.ErrTooOld}
	}
	var last error
	for _, secret := range v.secrets {
		// The window was checked above against our clock; let stripe-go check
		// the signature only, so both checks use the same notion of now.
		err := webhook.ValidatePayloadIgnoringTolerance(payload, header, secret)
		if err == nil {
			return nil
		}
		last = err
		if !errors.Is(err, webhook.ErrNoValidSignature) {
			break // the header itself is bad: no other secret will help
		}
	}
	switch {
	case errors.Is(last, webhook.ErrNotSigned):
		return &Error{ReasonMissingSignature, last}
	case errors.Is(last, webhook.ErrInvalidHeader):
		return &Error{ReasonInvalidHeader, last}
	default:
		return &Error{ReasonBadSignature, last}
	}
}

// Timestamp extracts the t= element of a Stripe-Signature header.
func Timestamp(header string) (time.Time, error) {
	var found bool
	var ts time.Time
	for _, part := range strings.Split(header, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return time.Time{}, webhook.ErrInvalidHeader
		}
		if k != "t" {
			continue
		}
		if found {
			return time.Time{}, fmt.Errorf("%w: more than one timestamp", webhook.ErrInvalidHeader)
		}
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n <= 0 {
			return time.Time{}, fmt.Errorf("%w: timestamp %q is not a positive integer", webhook.ErrInvalidHeader, logging.Cut(val))
		}
		ts, found = time.Unix(n, 0), true
	}
	if !found {
		return time.Time{}, fmt.Errorf("%w: no timestamp", webhook.ErrInvalidHeader)
	}
	return ts, nil
}

// Event is the part of a Stripe event the hub uses. Everything else stays in
// the raw payload that travels in the envelope.
type Event struct {
	ID       string
	Type     string
	Created  time.Time
	Livemode bool
	Object   Object
}

// Object is the part of data.object the hub uses.
type Object struct {
	ID            string
	Object        string
	TransactionID string // metadata.transaction_id, else client_reference_id
	// PaymentIntent is the payment intent the object belongs to: its own id
	// for a payment intent, its payment_intent for a charge, a refund or a
	// Checkout session. It links events that lack the hub's transaction id
	// (a refund of a charge Checkout created) to the transaction.
	PaymentIntent     string
	Amount            int64
	AmountRefunded    int64
	Currency          string
	Refunded          bool
	PaymentStatus     string
	LastPaymentErrMsg string
}

type wireEvent struct {
	Object   string `json:"object"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Created  int64  `json:"created"`
	Livemode bool   `json:"livemode"`
	Data     struct {
		Object struct {
			ID                string            `json:"id"`
			Object            string            `json:"object"`
			Metadata          map[string]string `json:"metadata"`
			ClientReferenceID string            `json:"client_reference_id"`
			PaymentIntent     json.RawMessage   `json:"payment_intent"`
			Amount            int64             `json:"amount"`
			AmountTotal       int64             `json:"amount_total"`
			AmountRefunded    int64             `json:"amount_refunded"`
			Currency          string            `json:"currency"`
			Refunded          bool              `json:"refunded"`
			PaymentStatus     string            `json:"payment_status"`
			LastPaymentError  *struct {
				Message string `json:"message"`
			} `json:"last_payment_error"`
		} `json:"object"`
	} `json:"data"`
}

// Parse decodes a Stripe event. It refuses anything that is not an event
// with an id and a type, with an *Error of ReasonNotAnEvent.
func Parse(payload []byte) (Event, error) {
	var w wireEvent
	if err := json.Unmarshal(payload, &w); err != nil {
		return Event{}, &Error{ReasonNotAnEvent, fmt.Errorf("body is not JSON: %w", err)}
	}
	if w.Object != "event" {
		return Event{}, &Error{ReasonNotAnEvent, fmt.Errorf(`"object" is %q, want "event"`, logging.Cut(w.Object))}
	}
	if !strings.HasPrefix(w.ID, "evt_") {
		return Event{}, &Error{ReasonNotAnEvent, fmt.Errorf("event id %q does not start with evt_", logging.Cut(w.ID))}
	}
	if w.Type == "" {
		return Event{}, &Error{ReasonNotAnEvent, errors.New("event has no type")}
	}
	o := w.Data.Object
	txID := o.Metadata["transaction_id"]
	if txID == "" {
		txID = o.ClientReferenceID
	}
	amount := o.Amount
	if amount == 0 {
		amount = o.AmountTotal
	}
	pi := idOf(o.PaymentIntent)
	if o.Object == "payment_intent" {
		pi = o.ID
	}
	ev := Event{
		ID:       w.ID,
		Type:     w.Type,
		Created:  time.Unix(w.Created, 0).UTC(),
		Livemode: w.Livemode,
		Object: Object{
			ID:             o.ID,
			Object:         o.Object,
			TransactionID:  txID,
			PaymentIntent:  pi,
			Amount:         amount,
			AmountRefunded: o.AmountRefunded,
			Currency:       o.Currency,
			Refunded:       o.Refunded,
			PaymentStatus:  o.PaymentStatus,
		},
	}
	if o.LastPaymentError != nil {
		ev.Object.LastPaymentErrMsg = o.LastPaymentError.Message
	}
	return ev, nil
}

// idOf reads an expandable reference: an id string, or an expanded object
// with an id.
func idOf(raw json.RawMessage) string {
	var id string
	if json.Unmarshal(raw, &id) == nil {
		return id
	}
	var obj struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return obj.ID
	}
	return ""
}

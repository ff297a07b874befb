// Package envelope defines the message the intake puts on the queue and the
// processor takes off it. The envelope is versioned so that a queue holding
// messages written by an older intake can still be drained after a deploy.
package envelope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// Version is the envelope version this build writes. Decode accepts every
// version up to and including it.
const Version = 1

// Provider names, used verbatim in envelopes, message attributes, logs and
// the CLI.
const (
	ProviderStripe   = "stripe"
	ProviderMonetbil = "monetbil"
)

// Message attribute names set on every queued envelope, so that operators
// can see what a message is (in the console or `hubctl failed list`) without
// decoding its body.
const (
	AttrProvider      = "provider"
	AttrEventType     = "event_type"
	AttrEventKey      = "event_key"
	AttrTransactionID = "transaction_id"
	// AttrRedrive is set on a message the hub moved back from the DLQ
	// (its value says how: RedriveManual, or RedriveAuto followed by the
	// round), so that the processor closes the event's failure record, and
	// ends the round, when it succeeds.
	AttrRedrive = "redrive"
)

// Values of AttrRedrive.
const (
	RedriveManual = "manual"
	RedriveAuto   = "auto:"
)

// Envelope is one verified webhook as queued. Payload holds the raw request
// body exactly as it was received and verified: a Stripe event's JSON bytes or
// Monetbil's form-encoded body. It is kept as a string, not re-encoded JSON,
// so that what sits in the queue (and the DLQ) is byte-for-byte what the
// provider signed, and still readable by an operator.
type Envelope struct {
	Version       int       `json:"version"`
	Provider      string    `json:"provider"`
	EventKey      string    `json:"event_key"`
	EventType     string    `json:"event_type"`
	TransactionID string    `json:"transaction_id,omitempty"`
	ReceivedAt    time.Time `json:"received_at"`
	Payload       string    `json:"payload"`
}

// ErrInvalid marks an envelope that can never be processed, however often it
// is retried: it says so (Permanent), and the processor sends it to the DLQ
// without waiting for the backoff.
var ErrInvalid error = invalidError("invalid envelope")

type invalidError string

func (e invalidError) Error() string   { return string(e) }
func (invalidError) Permanent() bool   { return true }
func (invalidError) ErrorKind() string { return "invalid_envelope" }

// Validate checks the fields every consumer relies on.
func (e Envelope) Validate() error {
	switch {
	case e.Version < 1 || e.Version > Version:
		return fmt.Errorf("%w: unsupported version %d (this build reads 1..%d)", ErrInvalid, e.Version, Version)
	case e.Provider != ProviderStripe && e.Provider != ProviderMonetbil:
		return fmt.Errorf("%w: unknown provider %q", ErrInvalid, e.Provider)
	case e.EventKey == "":
		return fmt.Errorf("%w: empty event_key", ErrInvalid)
	case e.Payload == "":
		return fmt.Errorf("%w: empty payload", ErrInvalid)
	case !utf8.ValidString(e.Payload):
		return fmt.Errorf("%w: payload is not valid UTF-8", ErrInvalid)
	}
	return nil
}

// Encode validates the envelope and returns its JSON form.
func Encode(e Envelope) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Keep '<', '>' and '&' readable in the console; decoding is unaffected.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("encode envelope: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Decode parses and validates a queued envelope. Every error wraps ErrInvalid:
// a body that does not decode today will not decode tomorrow.
func Decode(body []byte) (Envelope, error) {
	var e Envelope
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&e); err != nil {
		return Envelope{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if dec.More() {
		return Envelope{}, fmt.Errorf("%w: trailing data after the envelope", ErrInvalid)
	}
	if err := e.Validate(); err != nil {
		return Envelope{}, err
	}
	e.ReceivedAt = e.ReceivedAt.UTC()
	return e, nil
}

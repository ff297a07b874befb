// Package monetbil verifies Monetbil payment notifications and talks to
// Monetbil's checkPayment API. Monetbil publishes no Go library, so both are
// written here from the behaviour of its official PHP handlers.
package monetbil

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/payments-hub/hub/internal/logging"
)

// Reason says why a notification was refused. Values are stable: they are
// returned to the caller and logged.
type Reason string

// Reasons a notification is refused.
const (
	ReasonUnparseable        Reason = "unparseable_form"
	ReasonNotText            Reason = "field_not_text"
	ReasonDuplicateField     Reason = "duplicate_field"
	ReasonMissingSignature   Reason = "missing_signature"
	ReasonBadSignature       Reason = "signature_mismatch"
	ReasonMissingTransaction Reason = "missing_transaction_id"
)

// Error is a refused notification.
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string { return string(e.Reason) + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// IsAuth reports whether the refusal is about the signature (answered 403)
// rather than the shape of the body (answered 400).
func (e *Error) IsAuth() bool {
	return e.Reason == ReasonMissingSignature || e.Reason == ReasonBadSignature
}

// ParseForm decodes a form-encoded body. A field given twice is refused:
// PHP keeps the last value and Go the first, so accepting it would let the
// signed value and the applied value differ. A field that is not text
// (invalid UTF-8, control characters) is refused too: Monetbil sends text,
// and md5's padding, which a length-extension forgery must carry inside a
// field, is not.
func ParseForm(body string) (url.Values, error) {
	form, err := url.ParseQuery(body)
	if err != nil {
		return nil, &Error{ReasonUnparseable, err}
	}
	for k, v := range form {
		if len(v) > 1 {
			return nil, &Error{ReasonDuplicateField, fmt.Errorf("field %q appears %d times", logging.Cut(k), len(v))}
		}
		if !isText(k) || !isText(v[0]) {
			return nil, &Error{ReasonNotText, fmt.Errorf("field %q is not text", logging.Cut(strings.ToValidUTF8(k, "?")))}
		}
	}
	return form, nil
}

// isText reports whether s is UTF-8 without control characters (tabs and
// line breaks aside).
func isText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}

// Sign computes Monetbil's signature of a notification: the lowercase hex
// md5 of the service secret followed by the values of every field but
// "sign", ordered by field name, with no separator.
func Sign(secret string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		if k != "sign" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := md5.New()
	h.Write([]byte(secret))
	for _, k := range keys {
		h.Write([]byte(form.Get(k)))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Verify checks the form's "sign" field in constant time. The hex case of
// the posted signature does not matter. The PHP original compares with a
// loose ==, open to "0e..." magic-hash collisions; this compares the bytes.
func Verify(secret string, form url.Values) error {
	if secret == "" {
		return errors.New("monetbil: empty service secret")
	}
	got := strings.ToLower(strings.TrimSpace(form.Get("sign")))
	if got == "" {
		return &Error{ReasonMissingSignature, errors.New(`no "sign" field`)}
	}
	want := Sign(secret, form)
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return &Error{ReasonBadSignature, errors.New("sign does not match the service secret")}
	}
	return nil
}

// Notification is the part of a Monetbil notification the hub uses.
type Notification struct {
	TransactionID string // Monetbil's transaction id, also checkPayment's paymentId
	Status        string // the posted status; never trusted, see CheckPayment
	PaymentRef    string // the merchant's reference: the hub's transaction id
	ItemRef       string
	Amount        string
	Currency      string
	MSISDN        string
	Service       string
}

// ParseNotification extracts the notification's fields. transaction_id is
// required: it is what the payment is confirmed with.
func ParseNotification(form url.Values) (Notification, error) {
	n := Notification{
		TransactionID: strings.TrimSpace(form.Get("transaction_id")),
		Status:        strings.TrimSpace(form.Get("status")),
		PaymentRef:    strings.TrimSpace(form.Get("payment_ref")),
		ItemRef:       form.Get("item_ref"),
		Amount:        form.Get("amount"),
		Currency:      form.Get("currency"),
		MSISDN:        form.Get("msisdn"),
		Service:       form.Get("service"),
	}
	if n.TransactionID == "" {
		return Notification{}, &Error{ReasonMissingTransaction, errors.New(`no "transaction_id" field`)}
	}
	return n, nil
}

// EventKey is the notification's idempotency key, readable by an operator:
// "<transaction_id>:<status>" (see EventKey). The same notification always
// gives the same key; a later notification with another status is another
// event.
func (n Notification) EventKey() string {
	status := n.Status
	if status == "" {
		status = "none"
	}
	return EventKey(n.TransactionID, status)
}

// EventKey is a Monetbil event's key: "<transaction_id>:<status>". The
// intake keys a notification by its posted status; processing records the
// event under the status checkPayment confirmed, so that an altered copy of
// a notification is the same event as the original.
func EventKey(transactionID, status string) string {
	return transactionID + ":" + status
}

// EventType names the notification in envelopes and logs.
func (n Notification) EventType() string {
	if n.Status == "" {
		return "payment.notification"
	}
	return "payment." + n.Status
}

// MaskMSISDN keeps a phone number's first 3 and last 2 digits, enough for an
// operator to match it with a customer, never enough to call them.
func MaskMSISDN(msisdn string) string {
	r := []rune(strings.TrimSpace(msisdn))
	if len(r) == 0 {
		return ""
	}
	if len(r) <= 5 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-5) + string(r[len(r)-2:])
}

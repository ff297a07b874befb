package monetbil

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PaymentStatus is a final payment status according to checkPayment.
type PaymentStatus string

// Final payment statuses.
const (
	PaymentSuccess   PaymentStatus = "success"
	PaymentFailed    PaymentStatus = "failed"
	PaymentCancelled PaymentStatus = "cancelled"
)

// Payment is checkPayment's verdict on one payment: its final status, and
// the payment's own fields whenever the answer carries them. The hub takes
// which transaction a payment pays, for how much and in which currency from
// here, never from the notification alone (see providers.md: the
// notification's signature is malleable).
type Payment struct {
	Status   PaymentStatus
	TestMode bool // a test-mode payment (status 7, 8 or 9, or "testmode" set)
	Code     int  // the status code as Monetbil sent it: 1, 0, -1, 7, 8 or 9

	// The payment's fields; empty (HasAmount false, At zero) when the
	// answer lacks them.
	TransactionID string
	PaymentRef    string
	ItemRef       string
	Amount        int64
	HasAmount     bool
	Currency      string
	// At is when Monetbil says the payment happened, when the answer says.
	At time.Time
	// Other holds the transaction object's other fields, masked (no phone
	// number, email or name in clear): kept for the record (OtherFields),
	// never refused.
	Other map[string]string
}

// OtherFields is Other as text for the record, in name order:
// `name="value", ...`; "" when there are none.
func (p Payment) OtherFields() string {
	var b strings.Builder
	for i, name := range slices.Sorted(maps.Keys(p.Other)) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(p.Other[name]))
	}
	return b.String()
}

// statusCodes maps checkPayment's final status codes. Any other code (a
// pending payment, a code added later) is not final.
var statusCodes = map[int]struct {
	status PaymentStatus
	test   bool
}{
	1:  {PaymentSuccess, false},
	0:  {PaymentFailed, false},
	-1: {PaymentCancelled, false},
	7:  {PaymentSuccess, true},
	8:  {PaymentFailed, true},
	9:  {PaymentCancelled, true},
}

// parseCheckPayment decodes a checkPayment answer. Every error it returns
// means "no final status in this answer".
func parseCheckPayment(body []byte) (Payment, error) {
	var answer struct {
		Transaction map[string]json.RawMessage `json:"transaction"` // nil when absent or null
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return Payment{}, fmt.Errorf("answer is not the expected JSON: %q is a JSON %s", typeErr.Field, typeErr.Value)
		}
		return Payment{}, fmt.Errorf("answer is not the expected JSON: %w", err)
	}
	if answer.Transaction == nil {
		return Payment{}, errors.New(`answer has no "transaction" object`)
	}
	fields := answer.Transaction
	code, err := parseStatusCode(fields["status"])
	if err != nil {
		return Payment{}, err
	}
	final, ok := statusCodes[code]
	if !ok {
		return Payment{}, fmt.Errorf("status %d is not a final status", code)
	}
	p := Payment{
		Status:   final.status,
		TestMode: final.test || parseLenientBool(fields["testmode"]),
		Code:     code,
	}
	if err := p.readFields(fields); err != nil {
		return Payment{}, err
	}
	return p, nil
}

// timeFields are the names a payment's own time may have; the first that
// parses wins. Monetbil does not document one: where none is given, the
// hub orders events by when the notification arrived.
var timeFields = []string{"date", "created_date", "created_at", "date_created"}

// readFields reads the payment's own fields from the transaction object and
// keeps the others, masked.
func (p *Payment) readFields(fields map[string]json.RawMessage) error {
	known := map[string]*string{"transaction_id": &p.TransactionID, "payment_ref": &p.PaymentRef, "item_ref": &p.ItemRef, "currency": &p.Currency}
	for name, raw := range fields {
		switch target, ok := known[name]; {
		case name == "status" || name == "testmode":
		case ok:
			*target = scalar(raw)
		case name == "amount":
			if s := scalar(raw); s != "" {
				n, err := parseAmount(s)
				if err != nil {
					return err
				}
				p.Amount, p.HasAmount = n, true
			}
		default:
			if p.Other == nil {
				p.Other = map[string]string{}
			}
			p.Other[name] = MaskField(name, scalar(raw))
		}
	}
	for _, name := range timeFields {
		if t, ok := parseTime(scalar(fields[name])); ok {
			p.At = t
			break
		}
	}
	return nil
}

// scalar reads a JSON string, number or boolean as text ("" for null, an
// object or an array).
func scalar(raw json.RawMessage) string {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// parseAmount reads an amount in the currency's unit, an integer or an
// integral decimal ("500", "500.00"); anything else is no amount the hub
// can check.
func parseAmount(s string) (int64, error) {
	if n, ok := parseWhole(s, 1e15); ok {
		return n, nil
	}
	return 0, fmt.Errorf("amount %.20q is not a whole amount", s)
}

// parseWhole reads an integer, or else an integral float below bound in
// magnitude ("1.0", "500.00"), nothing fancier: Monetbil's PHP backend is
// not strict about types.
func parseWhole(s string, bound float64) (int64, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < bound {
		return int64(f), true
	}
	return 0, false
}

// parseTime reads RFC 3339, or "2006-01-02 15:04:05" taken as UTC.
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseStatusCode reads the status as a JSON integer or a string holding
// one: Monetbil's PHP backend is not strict about types.
func parseStatusCode(raw json.RawMessage) (int, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, errors.New(`transaction has no "status"`)
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return 0, fmt.Errorf("unreadable status: %w", err)
		}
		s = strings.TrimSpace(str)
	}
	// 1 or 1.0 or "1.0".
	if n, ok := parseWhole(s, 1e9); ok {
		return int(n), nil
	}
	return 0, fmt.Errorf("status %.20q is not an integer", s)
}

// parseLenientBool reads testmode as a bool, a number or a string. Anything
// unrecognised counts as false: the status code already tells test mode
// apart, so testmode only adds information.
func parseLenientBool(raw json.RawMessage) bool {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return false
	}
	switch x := v.(type) {
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "1", "true", "yes", "on":
			return true
		}
	}
	return false
}

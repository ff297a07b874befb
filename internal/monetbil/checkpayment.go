package monetbil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultAPIURL is Monetbil's API base URL. Tests and local runs point the
// client elsewhere with NewClient.
const DefaultAPIURL = "https://api.monetbil.com"

const (
	checkPaymentPath = "/payment/v1/checkPayment"
	// defaultTimeout bounds one call when the caller gives no http.Client.
	// The processor's context usually ends sooner; this protects callers
	// that pass context.Background().
	defaultTimeout = 15 * time.Second
	// maxBodyBytes bounds what is read from an answer; a real checkPayment
	// answer is a few hundred bytes.
	maxBodyBytes = 1 << 20
	// excerptBytes is how much of an answer an error message quotes.
	excerptBytes = 200
)

// Every error CheckPayment returns wraps exactly one of these, so that a
// caller decides with errors.Is whether the retry schedule applies.
var (
	// ErrTransient: the payment's final status is not known yet (network
	// failure, timeout, 5xx, 408, 429, an unreadable answer, a pending or
	// unknown status). Retry later.
	ErrTransient = errors.New("monetbil: transient checkPayment failure")
	// ErrPermanent: retrying the same call cannot succeed (4xx other than
	// 408 and 429, an empty payment id).
	ErrPermanent = errors.New("monetbil: permanent checkPayment failure")
)

// CheckError is the error CheckPayment returns. It unwraps to ErrTransient
// or ErrPermanent and to its cause. Its message never holds credentials: the
// request carries none, and net/http strips a password from the URL it
// reports.
type CheckError struct {
	Kind       error  // ErrTransient or ErrPermanent
	StatusCode int    // HTTP status of the answer; 0 when none arrived
	Excerpt    string // start of the answer's body, at most 200 bytes
	Err        error  // cause
}

func (e *CheckError) Error() string {
	var b strings.Builder
	b.WriteString("monetbil checkPayment")
	if errors.Is(e.Kind, ErrPermanent) {
		b.WriteString(" (permanent)")
	} else {
		b.WriteString(" (transient)")
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Excerpt != "" {
		fmt.Fprintf(&b, ": body %q", e.Excerpt)
	}
	return b.String()
}

// Permanent reports whether retrying cannot help (the processor's one
// convention for permanent failures).
func (e *CheckError) Permanent() bool { return errors.Is(e.Kind, ErrPermanent) }

// Unwrap returns the class (ErrTransient or ErrPermanent) and the cause.
func (e *CheckError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

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
	// number, email or name in clear): kept for the record, never refused.
	Other map[string]string
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

// Client calls Monetbil's checkPayment API.
type Client struct {
	endpoint string
	http     *http.Client
}

// NewClient returns a client for the API at baseURL (DefaultAPIURL in
// production), which must be an absolute https URL, or http on a loopback
// address (a local sandbox); a path, as in "http://127.0.0.1:8080/monetbil",
// is kept as a prefix. A nil httpClient gets a client with a 15 s timeout.
// Redirects are refused whatever the client: an answer about money comes
// from the host configured, or not at all.
func NewClient(baseURL string, httpClient *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, errors.New("monetbil: invalid API base URL")
	}
	if u.Host == "" {
		return nil, errors.New("monetbil: API base URL has no host")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && IsLoopback(u.Hostname()):
	case u.Scheme == "http":
		return nil, fmt.Errorf("monetbil: API base URL must be https (plain http only on a loopback address, for a local sandbox), got http://%s", u.Host)
	default:
		return nil, fmt.Errorf("monetbil: API base URL must be https, got scheme %q", u.Scheme)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("monetbil: API base URL must not have a query or fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/") + checkPaymentPath
	u.RawPath = ""
	hc := &http.Client{Timeout: defaultTimeout}
	if httpClient != nil {
		copied := *httpClient
		hc = &copied
	}
	hc.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		return &redirectError{to: req.URL.Redacted()}
	}
	return &Client{endpoint: u.String(), http: hc}, nil
}

// IsLoopback reports whether host (a name or an address) is this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redirectError is a redirect the client refused.
type redirectError struct{ to string }

func (e *redirectError) Error() string {
	return "answered with a redirect to " + e.to + ", refused: set MONETBIL_API_URL to the API's own address"
}

// CheckPayment asks Monetbil for the final status of the payment paymentID
// (the notification's transaction_id). The returned error wraps ErrTransient
// or ErrPermanent; see them for which failures are which.
func (c *Client) CheckPayment(ctx context.Context, paymentID string) (Payment, error) {
	paymentID = strings.TrimSpace(paymentID)
	if paymentID == "" {
		return Payment{}, &CheckError{Kind: ErrPermanent, Err: errors.New("empty payment id")}
	}
	form := url.Values{"paymentId": {paymentID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Payment{}, &CheckError{Kind: ErrPermanent, Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	resp, err := c.http.Do(req)
	var redirect *redirectError
	if errors.As(err, &redirect) {
		// The same call will be redirected again.
		return Payment{}, &CheckError{Kind: ErrPermanent, Err: redirect}
	}
	if err != nil {
		// Connection refused, DNS, TLS, reset, client timeout, context
		// deadline or cancellation: the answer may come next time.
		return Payment{}, &CheckError{Kind: ErrTransient, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return Payment{}, &CheckError{Kind: ErrTransient, StatusCode: resp.StatusCode, Excerpt: excerpt(body), Err: fmt.Errorf("read answer: %w", err)}
	}

	if kind, bad := classifyHTTPStatus(resp.StatusCode); bad {
		return Payment{}, &CheckError{Kind: kind, StatusCode: resp.StatusCode, Excerpt: excerpt(body), Err: errors.New("unexpected HTTP status")}
	}
	if len(body) > maxBodyBytes {
		return Payment{}, &CheckError{Kind: ErrTransient, StatusCode: resp.StatusCode, Excerpt: excerpt(body), Err: fmt.Errorf("answer larger than %d bytes", maxBodyBytes)}
	}
	p, err := parseCheckPayment(body)
	if err != nil {
		return Payment{}, &CheckError{Kind: ErrTransient, StatusCode: resp.StatusCode, Excerpt: excerpt(body), Err: err}
	}
	return p, nil
}

// classifyHTTPStatus reports whether an HTTP status is a failure and of
// which kind. A 4xx says the request itself is wrong (bad URL, refused
// credentials), except 408 and 429 which ask to come back later. Anything
// else that is not 2xx (5xx, or a 1xx/3xx net/http did not resolve) is
// treated as transient: retrying costs a little, giving up on a payment
// that may have succeeded costs more.
func classifyHTTPStatus(code int) (kind error, failed bool) {
	switch {
	case code >= 200 && code < 300:
		return nil, false
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		return ErrTransient, true
	case code >= 400 && code < 500:
		return ErrPermanent, true
	default:
		return ErrTransient, true
	}
}

// parseCheckPayment decodes a checkPayment answer. Every error it returns
// means "no final status in this answer".
func parseCheckPayment(body []byte) (Payment, error) {
	var answer struct {
		Transaction *map[string]json.RawMessage `json:"transaction"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return Payment{}, fmt.Errorf("answer is not the expected JSON: %q is a JSON %s", typeErr.Field, typeErr.Value)
		}
		return Payment{}, fmt.Errorf("answer is not the expected JSON: %w", err)
	}
	if answer.Transaction == nil || *answer.Transaction == nil {
		return Payment{}, errors.New(`answer has no "transaction" object`)
	}
	fields := *answer.Transaction
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
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return int64(f), nil
	}
	return 0, fmt.Errorf("amount %.20q is not a whole amount", s)
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
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	// 1.0 or "1.0": accept an integral float, nothing fancier.
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1e9 {
		return int(f), nil
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

// excerpt returns the start of body for an error message, masked (no phone
// number, email or name in clear) and cut on a rune boundary.
func excerpt(body []byte) string {
	body = maskBody(body)
	if len(body) > excerptBytes {
		body = body[:excerptBytes]
		// Drop a rune the cut left incomplete; %q escapes any other
		// invalid byte.
		for i := 0; i < utf8.UTFMax-1 && len(body) > 0; i++ {
			if r, size := utf8.DecodeLastRune(body); r != utf8.RuneError || size != 1 {
				break
			}
			body = body[:len(body)-1]
		}
	}
	return strings.TrimSpace(string(body))
}

package monetbil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
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

// Payment is checkPayment's verdict on one payment.
type Payment struct {
	Status   PaymentStatus
	TestMode bool // a test-mode payment (status 7, 8 or 9, or "testmode" set)
	Code     int  // the status code as Monetbil sent it: 1, 0, -1, 7, 8 or 9
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
// production), which must be an absolute http or https URL; a path, as in
// "http://127.0.0.1:8080/monetbil", is kept as a prefix. A nil httpClient
// gets a client with a 15 s timeout.
func NewClient(baseURL string, httpClient *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, errors.New("monetbil: invalid API base URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("monetbil: API base URL must be http or https, got scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("monetbil: API base URL has no host")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("monetbil: API base URL must not have a query or fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/") + checkPaymentPath
	u.RawPath = ""
	if httpClient == nil {
		httpClient = &http.Client{Timeout: defaultTimeout}
	}
	return &Client{endpoint: u.String(), http: httpClient}, nil
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
		Transaction *struct {
			Status   json.RawMessage `json:"status"`
			TestMode json.RawMessage `json:"testmode"`
		} `json:"transaction"`
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
	code, err := parseStatusCode(answer.Transaction.Status)
	if err != nil {
		return Payment{}, err
	}
	final, ok := statusCodes[code]
	if !ok {
		return Payment{}, fmt.Errorf("status %d is not a final status", code)
	}
	return Payment{
		Status:   final.status,
		TestMode: final.test || parseLenientBool(answer.Transaction.TestMode),
		Code:     code,
	}, nil
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

// excerpt returns the start of body for an error message, cut on a rune
// boundary.
func excerpt(body []byte) string {
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

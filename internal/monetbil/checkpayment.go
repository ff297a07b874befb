package monetbil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
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

// Package intake is the webhook front door: it routes a request, verifies the
// provider's signature, wraps the raw body in an envelope and enqueues it.
// It answers 2xx only once the queue holds the event.
//
// The same Service backs two transports: the API Gateway Lambda (through
// package apigateway) and a plain net/http server (ServeHTTP), used by
// `hubctl dev` and the tests.
package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/logging"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/stripewebhook"
)

// MaxBodyBytes is the largest body accepted: the SQS message limit (1 MiB)
// bounds what can be queued.
const MaxBodyBytes = 1 << 20

// Routes served.
const (
	PathStripe   = "/webhooks/stripe"
	PathMonetbil = "/webhooks/monetbil"
)

// ErrTooLarge is wrapped by a Queue that cannot hold an event of this size
// (the envelope's JSON escaping can grow a body past the queue's limit).
// Retrying cannot help, so the intake answers 413, not 503.
var ErrTooLarge = errors.New("event too large for the queue")

// Queue holds accepted events. Enqueue returns only once the event is
// durably held, with the queue's id for it.
type Queue interface {
	Enqueue(ctx context.Context, e envelope.Envelope) (messageID string, err error)
}

// Config wires a Service.
type Config struct {
	Stripe         *stripewebhook.Verifier
	MonetbilSecret string
	Queue          Queue
	Logger         *slog.Logger
	// EnqueueTimeout bounds one enqueue, retries included, so that the
	// provider gets a 503 rather than its own timeout. Default 10 s.
	EnqueueTimeout time.Duration
	Now            func() time.Time
}

// Service handles webhook requests.
type Service struct {
	cfg Config
}

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Stripe == nil:
		return nil, errors.New("intake: a Stripe verifier is required")
	case cfg.MonetbilSecret == "":
		return nil, errors.New("intake: the Monetbil service secret is required")
	case cfg.Queue == nil:
		return nil, errors.New("intake: a queue is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.EnqueueTimeout <= 0 {
		cfg.EnqueueTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

// Request is a transport-neutral HTTP request.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
	// BodyTooLarge is set by a transport that stopped reading the body at
	// MaxBodyBytes.
	BodyTooLarge bool
}

// Response is a transport-neutral HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// outcome is what is logged for one request.
type outcome struct {
	attrs    []slog.Attr
	err      error
	provider string // set once the route names one
}

func (o *outcome) add(a ...slog.Attr) { o.attrs = append(o.attrs, a...) }

// reject records why a request was refused.
func (o *outcome) reject(reason string, err error) {
	o.err = err
	o.add(slog.String("outcome", "rejected"), slog.String("reason", reason))
}

// The intake's CloudWatch metrics (Embedded Metric Format, in the one line
// each request is logged with): accepted and rejected webhooks by provider,
// and rejections by reason. A wrong or rotated secret shows as every
// webhook of a provider rejected with signature_mismatch.
const (
	MetricAccepted = "WebhooksAccepted"
	MetricRejected = "WebhooksRejected"
)

func (o *outcome) metrics(now time.Time, status int) []slog.Attr {
	switch {
	case o.provider == "":
		return nil
	case status >= 200 && status < 300:
		return logging.Metrics(now, nil, [][]string{{"provider"}}, logging.Count(MetricAccepted, 1))
	case status >= 400 && status < 500:
		return logging.Metrics(now, nil, [][]string{{"provider"}, {"provider", "reason"}}, logging.Count(MetricRejected, 1))
	}
	return nil // 5xx: the queue is unavailable, counted by API Gateway's 5xx
}

// Handle routes and answers one request, and logs one line for it.
func (s *Service) Handle(ctx context.Context, req Request) Response {
	start := time.Now()
	var o outcome
	resp := s.route(ctx, req, &o)
	level := slog.LevelInfo
	switch {
	case resp.Status >= 500:
		level = slog.LevelError
	case resp.Status >= 400:
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{slog.Int("status", resp.Status), slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000)}
	if o.provider == "" {
		// The provider names the route; a request that is on no route says
		// what it asked for. (Every byte of a line is billed.)
		attrs = append(attrs, slog.String("method", logging.Cut(req.Method)), slog.String("path", logging.Cut(req.Path)))
	}
	attrs = append(attrs, o.attrs...)
	if o.err != nil {
		attrs = append(attrs, logging.Err(o.err))
	}
	attrs = append(attrs, o.metrics(s.cfg.Now(), resp.Status)...)
	s.cfg.Logger.LogAttrs(ctx, level, "webhook", attrs...)
	return resp
}

func (s *Service) route(ctx context.Context, req Request, o *outcome) Response {
	var handle func(context.Context, Request, *outcome) Response
	var provider string
	switch req.Path {
	case PathStripe:
		handle, provider = s.stripe, envelope.ProviderStripe
	case PathMonetbil:
		handle, provider = s.monetbil, envelope.ProviderMonetbil
	default:
		o.add(slog.String("outcome", "not_found"))
		return jsonError(http.StatusNotFound, "not_found", "no such route: POST /webhooks/stripe or /webhooks/monetbil")
	}
	if req.Method != http.MethodPost {
		o.add(slog.String("outcome", "method_not_allowed"))
		r := jsonError(http.StatusMethodNotAllowed, "method_not_allowed", "use POST")
		r.Header.Set("Allow", http.MethodPost)
		return r
	}
	// Named only now: a request in the wrong method counts for no provider.
	o.provider = provider
	o.add(slog.String("provider", o.provider))
	if req.BodyTooLarge || len(req.Body) > MaxBodyBytes {
		o.reject("body_too_large", nil)
		return jsonError(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("body exceeds %d bytes", MaxBodyBytes))
	}
	return handle(ctx, req, o)
}

func (s *Service) stripe(ctx context.Context, req Request, o *outcome) Response {
	if err := s.cfg.Stripe.Verify(req.Body, req.Header.Get("Stripe-Signature")); err != nil {
		return s.stripeRejected(err, o)
	}
	if !utf8.Valid(req.Body) {
		return s.stripeRejected(&stripewebhook.Error{Reason: stripewebhook.ReasonNotAnEvent, Err: errors.New("body is not UTF-8")}, o)
	}
	ev, err := stripewebhook.Parse(req.Body)
	if err != nil {
		return s.stripeRejected(err, o)
	}
	o.add(slog.String("event_id", logging.Cut(ev.ID)), slog.String("transaction_id", logging.Cut(ev.Object.TransactionID)))
	env := envelope.Envelope{
		Version:       envelope.Version,
		Provider:      envelope.ProviderStripe,
		EventKey:      ev.ID,
		EventType:     ev.Type,
		TransactionID: ev.Object.TransactionID,
		ReceivedAt:    s.cfg.Now().UTC(),
		Payload:       string(req.Body),
	}
	if resp, ok := s.enqueue(ctx, env, o); !ok {
		return resp
	}
	return jsonResponse(http.StatusOK, map[string]any{"received": true, "event_id": ev.ID})
}

func (s *Service) stripeRejected(err error, o *outcome) Response {
	reason := "invalid"
	var se *stripewebhook.Error
	if errors.As(err, &se) {
		reason = string(se.Reason)
	}
	// The reason is enough for the sender; the detail stays in our log.
	o.reject(reason, err)
	return jsonError(http.StatusBadRequest, reason, stripeMessage(reason))
}

func stripeMessage(reason string) string {
	switch stripewebhook.Reason(reason) {
	case stripewebhook.ReasonMissingSignature:
		return "missing Stripe-Signature header"
	case stripewebhook.ReasonInvalidHeader:
		return "malformed Stripe-Signature header"
	case stripewebhook.ReasonBadSignature:
		return "no signature matches the endpoint secret"
	case stripewebhook.ReasonTooOld:
		return "timestamp is older than the 300 s tolerance"
	case stripewebhook.ReasonInFuture:
		return "timestamp is too far in the future"
	case stripewebhook.ReasonNotAnEvent:
		return "body is not a Stripe event"
	}
	return "invalid webhook"
}

func (s *Service) monetbil(ctx context.Context, req Request, o *outcome) Response {
	reject := func(err error) Response {
		var me *monetbil.Error
		reason, status := "invalid", http.StatusBadRequest
		if errors.As(err, &me) {
			reason = string(me.Reason)
			if me.IsAuth() {
				status = http.StatusForbidden
			}
		}
		o.reject(reason, err)
		return textResponse(status, reason)
	}
	if !utf8.Valid(req.Body) {
		return reject(&monetbil.Error{Reason: monetbil.ReasonUnparseable, Err: errors.New("body is not UTF-8")})
	}
	form, err := monetbil.ParseForm(string(req.Body))
	if err != nil {
		return reject(err)
	}
	if err := monetbil.Verify(s.cfg.MonetbilSecret, form); err != nil {
		return reject(err)
	}
	n, err := monetbil.ParseNotification(form)
	if err != nil {
		return reject(err)
	}
	o.add(slog.String("event_key", logging.Cut(n.EventKey())), slog.String("transaction_id", logging.Cut(n.PaymentRef)),
		slog.String("msisdn", monetbil.MaskMSISDN(logging.Cut(n.MSISDN))))
	env := envelope.Envelope{
		Version:       envelope.Version,
		Provider:      envelope.ProviderMonetbil,
		EventKey:      n.EventKey(),
		EventType:     n.EventType(),
		TransactionID: n.PaymentRef,
		ReceivedAt:    s.cfg.Now().UTC(),
		Payload:       string(req.Body),
	}
	if resp, ok := s.enqueue(ctx, env, o); !ok {
		return resp
	}
	return textResponse(http.StatusOK, "received")
}

// enqueue puts env on the queue. On failure it returns the 503 to answer:
// the provider retries, and nothing is acknowledged that the queue does not
// hold.
func (s *Service) enqueue(ctx context.Context, env envelope.Envelope, o *outcome) (Response, bool) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.EnqueueTimeout)
	defer cancel()
	id, err := s.cfg.Queue.Enqueue(ctx, env)
	if errors.Is(err, ErrTooLarge) {
		o.reject("body_too_large", err)
		return jsonError(http.StatusRequestEntityTooLarge, "body_too_large", "the event is larger than the queue accepts"), false
	}
	if err != nil {
		o.add(slog.String("outcome", "unavailable"))
		o.err = fmt.Errorf("enqueue: %w", err)
		r := jsonError(http.StatusServiceUnavailable, "queue_unavailable", "the event could not be queued; retry later")
		r.Header.Set("Retry-After", "30")
		return r, false
	}
	o.add(slog.String("outcome", "accepted"), slog.String("message_id", id))
	return Response{}, true
}

func jsonResponse(status int, v any) Response {
	body, err := json.Marshal(v)
	if err != nil {
		// Only maps of strings and bools reach here; never panic on a request.
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal error","reason":"internal"}`)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return Response{Status: status, Header: h, Body: body}
}

func jsonError(status int, reason, message string) Response {
	return jsonResponse(status, map[string]string{"error": message, "reason": reason})
}

func textResponse(status int, body string) Response {
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	return Response{Status: status, Header: h, Body: []byte(body)}
}

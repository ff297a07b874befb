package processing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/logging"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/transaction"
)

// attempt is one delivery being processed: the steps of Process read and
// fill it.
type attempt struct {
	m           Message
	n           int // the attempt number, 1-based
	round       int // the message's automatic redrive round (Message.Round)
	start       time.Time
	jobDeadline time.Time
	env         envelope.Envelope
	decoded     bool
	log         *slog.Logger
}

// begin sets up an attempt: its number, its logger and its job's deadline,
// the earliest of the job timeout, the caller's deadline, and the moment
// the message could come back (the visibility timeout less DeadlineMargin).
func (p *Processor) begin(m Message, deadline time.Time) *attempt {
	a := &attempt{m: m, n: max(m.Attempt, 1), round: m.Round(), start: p.cfg.Now()}
	a.log = p.cfg.Logger.With(slog.String("message_id", m.ID), slog.Int("attempt", a.n))
	a.jobDeadline = a.start.Add(p.cfg.JobTimeout)
	if !deadline.IsZero() && deadline.Before(a.jobDeadline) {
		a.jobDeadline = deadline
	}
	if vt := p.cfg.VisibilityTimeout; vt > DeadlineMargin+time.Second {
		if bound := a.start.Add(vt - DeadlineMargin); bound.Before(a.jobDeadline) {
			a.jobDeadline = bound
		}
	}
	return a
}

// decode reads the envelope. A body that does not decode never will: the
// error is permanent (envelope.ErrInvalid).
func (a *attempt) decode() error {
	env, err := envelope.Decode(a.m.Body)
	if err != nil {
		return err
	}
	a.env, a.decoded = env, true
	a.log = a.log.With(slog.String("provider", env.Provider), slog.String(keyAttr(env.Provider), env.EventKey),
		slog.String("event_type", env.EventType))
	return nil
}

// failureName is the key of the attempt's failure record.
func (a *attempt) failureName() (string, string) {
	if a.decoded {
		return a.env.Provider, a.env.EventKey
	}
	return FailureName(a.m.Attributes[envelope.AttrProvider], a.m.Attributes[envelope.AttrEventKey], a.m.ID)
}

// decide runs the provider's job within the attempt's deadline. A job that
// panics is recovered by Process, which fails the event for good
// (PanicError, its stack taken at the panic) and never takes the batch down.
func (p *Processor) decide(ctx context.Context, a *attempt) (Decision, error) {
	job, ok := p.cfg.Jobs[a.env.Provider]
	if !ok {
		return Decision{}, Permanent(fmt.Errorf("no job for provider %q", a.env.Provider))
	}
	ctx, cancel := context.WithDeadline(ctx, a.jobDeadline)
	defer cancel()
	return job.Decide(ctx, a.env)
}

// settle carries out a decision: keep its binding, apply its change or
// record its outcome, and acknowledge the message.
func (p *Processor) settle(ctx context.Context, a *attempt, d Decision) Result {
	if d.EventKey == "" {
		d.EventKey = a.env.EventKey
	}
	var bound *store.Binding // a binding this event created
	if d.Binding != nil {
		b := *d.Binding
		b.Now = p.cfg.Now()
		to, created, err := p.cfg.Store.Bind(ctx, b)
		if errors.Is(err, store.ErrBoundElsewhere) {
			return p.record(ctx, a, Decision{
				Outcome: OutcomeMismatch, Mismatch: []string{"payment_ref"}, EventKey: d.EventKey, TransactionID: d.Binding.TransactionID,
				Detail: fmt.Sprintf("%s transaction %s was confirmed for transaction %s; this callback names %s",
					d.Binding.Provider, d.Binding.ProviderTransactionID, to, d.Binding.TransactionID),
				Note: d.Note,
			})
		}
		if err != nil {
			return p.fail(ctx, a, fmt.Errorf("bind %s transaction %s: %w", d.Binding.Provider, d.Binding.ProviderTransactionID, err))
		}
		if created {
			bound = &b
		}
	}
	if d.Change == nil {
		return p.record(ctx, a, d)
	}
	c := *d.Change
	c.MustExist = p.cfg.RequireExpected
	verdict, tx, err := p.cfg.Store.Apply(ctx, c, p.cfg.Now())
	if err != nil {
		return p.fail(ctx, a, fmt.Errorf("apply %s to transaction %s: %w", c.Status, c.TransactionID, err))
	}
	if bound != nil && !verdict.Changed() && verdict != transaction.AlreadyApplied {
		// The payment did not pay this transaction: let the genuine
		// notification bind it.
		if err := p.cfg.Store.Unbind(ctx, *bound); err != nil {
			a.log.Warn("could not drop the binding of a change that did not apply", logging.Err(err))
		}
	}
	switch verdict {
	case transaction.Applied, transaction.Unchanged:
		p.resolve(ctx, a, string(verdict))
		p.done(ctx, a, a.log, slog.LevelInfo, "processed", string(verdict), c.EventKey, tx,
			logging.Count(MetricProcessed, 1), Metric{Name: MetricLatency, Unit: "Milliseconds", Value: float64(p.cfg.Now().Sub(a.env.ReceivedAt).Milliseconds())})
		return Result{MessageID: a.m.ID, Action: Ack, Outcome: string(verdict)}
	case transaction.AlreadyApplied:
		p.resolve(ctx, a, string(verdict))
		p.done(ctx, a, a.log, slog.LevelInfo, "already processed", OutcomeDuplicate, c.EventKey, tx, logging.Count(MetricDuplicate, 1))
		return Result{MessageID: a.m.ID, Action: Ack, Outcome: OutcomeDuplicate}
	}
	return p.record(ctx, a, Decision{Outcome: string(verdict), EventKey: c.EventKey, TransactionID: c.TransactionID,
		Detail: fmt.Sprintf("transaction %s is %s", c.TransactionID, tx.Status), Note: d.Note})
}

// Metric is a metric value of a log line.
type Metric = logging.Metric

// record records an outcome that changed no transaction and acknowledges
// the message.
func (p *Processor) record(ctx context.Context, a *attempt, d Decision) Result {
	if d.Outcome == "" {
		d.Outcome = OutcomeIgnored
	}
	txID := d.TransactionID
	// An event of a type the hub does not handle changes nothing, and
	// repeating it changes nothing: it costs no write, only its log line.
	if d.Outcome != OutcomeIgnored {
		err := p.cfg.Store.Record(ctx, store.Outcome{
			Provider: a.env.Provider, EventKey: d.EventKey, EventType: a.env.EventType, TransactionID: txID,
			MessageID: a.m.ID, Outcome: d.Outcome, Mismatch: d.Mismatch, Detail: storedDetail(d), Round: a.round, Now: p.cfg.Now(),
		})
		if err != nil {
			return p.fail(ctx, a, fmt.Errorf("record outcome %s: %w", d.Outcome, err))
		}
	}
	if d.EventKey != a.env.EventKey {
		// The envelope's key may hold a failure record of this event.
		p.resolve(ctx, a, d.Outcome)
	}
	level, msg, metrics := outcomeLog(d.Outcome)
	log := a.log
	if len(d.Mismatch) > 0 {
		log = log.With(slog.Any("mismatch", d.Mismatch))
	}
	if d.Detail != "" {
		log = log.With(slog.String("detail", d.Detail))
	}
	p.done(ctx, a, log, level, msg, d.Outcome, d.EventKey, transaction.Transaction{ID: txID}, metrics...)
	return Result{MessageID: a.m.ID, Action: Ack, Outcome: d.Outcome}
}

// Outcomes that are worth an operator's attention, and the one that is not.
const (
	OutcomeIgnored            = "ignored"
	OutcomeMismatch           = "mismatch"
	OutcomeLivemodeMismatch   = "livemode_mismatch"
	OutcomeAmountMismatch     = string(transaction.AmountMismatch)
	OutcomeUnknownTransaction = string(transaction.UnknownTransaction)
)

// outcomeLog says how an outcome is logged and counted.
func outcomeLog(outcome string) (slog.Level, string, []Metric) {
	processed := logging.Count(MetricProcessed, 1)
	switch outcome {
	case OutcomeAmountMismatch:
		return slog.LevelError, "amount mismatch: the confirmed payment is not what the transaction expects; not applied", []Metric{processed, logging.Count(MetricAmountMismatch, 1)}
	case OutcomeMismatch:
		return slog.LevelWarn, "mismatch: the event disagrees with the provider's confirmation or an earlier binding; nothing changed", []Metric{processed, logging.Count(MetricMismatch, 1)}
	case OutcomeLivemodeMismatch, OutcomeUnknownTransaction:
		return slog.LevelWarn, "processed", []Metric{processed, logging.Count(MetricMismatch, 1)}
	}
	return slog.LevelInfo, "processed", []Metric{processed}
}

// resolve closes the failure record of an event that failed before: on a
// later attempt, or after a redrive by the hub. An event applied at its
// first attempt has no record and costs no write here.
func (p *Processor) resolve(ctx context.Context, a *attempt, outcome string) {
	if a.n == 1 && !a.m.Redriven() {
		return
	}
	if err := p.cfg.Store.Resolve(ctx, a.env.Provider, a.env.EventKey, outcome, a.round, p.cfg.Now()); err != nil {
		// The event is done; only its record says otherwise until an
		// operator looks. Not worth a retry.
		a.log.Warn("could not close the event's failure record", logging.Err(err))
	}
}

// done logs the line that ends an attempt, with its metrics.
func (p *Processor) done(ctx context.Context, a *attempt, log *slog.Logger, level slog.Level, msg, outcome, key string, tx transaction.Transaction, metrics ...Metric) {
	attrs := []slog.Attr{slog.String("outcome", outcome)}
	if tx.ID != "" {
		attrs = append(attrs, slog.String("transaction_id", tx.ID))
	} else if a.env.TransactionID != "" {
		attrs = append(attrs, slog.String("transaction_id", a.env.TransactionID))
	}
	if tx.Status != "" {
		attrs = append(attrs, slog.String("status", string(tx.Status)))
	}
	if key != "" && key != a.env.EventKey {
		attrs = append(attrs, slog.String("recorded_as", key))
	}
	attrs = append(attrs, p.metrics(a, metrics...)...)
	log.LogAttrs(ctx, level, msg, attrs...)
}

// fail records a failed attempt and hides the message for the backoff, or,
// for a permanent failure or the last attempt, leaves it for the redrive.
func (p *Processor) fail(ctx context.Context, a *attempt, err error) Result {
	permanent := IsPermanent(err)
	if permanent {
		p.doomed.put(a.m.ID, err)
	}
	last := permanent || p.cfg.Policy.IsLast(a.n)
	delay, action := p.cfg.Policy.Delay(a.n), Retry
	if permanent {
		// Visible at once: each receive fails fast until the receive count
		// passes maxReceiveCount and SQS moves it to the DLQ.
		delay, action = 0, DeadLetter
	} else if last {
		action = DeadLetter
	}
	provider, key := a.failureName()
	ferr := p.cfg.Store.Fail(ctx, store.Failure{
		Provider: provider, EventKey: key, EventType: a.env.EventType, TransactionID: a.env.TransactionID,
		MessageID: a.m.ID, Attempt: a.n, Error: truncate(err.Error(), maxStoredError), ErrorType: logging.ErrorType(err),
		Permanent: permanent, DeadLettered: last, Round: a.round, Now: p.cfg.Now(),
	})
	switch {
	case errors.Is(ferr, store.ErrAlreadyProcessed):
		a.log.Warn("a redelivery of a processed event failed; its record stays processed", logging.Err(err))
	case ferr != nil:
		a.log.Error("could not record the failure", slog.String("record_error", ferr.Error()), slog.String("record_error_type", logging.ErrorType(ferr)))
	}
	p.hide(ctx, a, delay)
	attrs := []slog.Attr{logging.Err(err), slog.Bool("permanent", permanent), slog.Duration("retry_in", delay)}
	if a.env.TransactionID != "" {
		attrs = append(attrs, slog.String("transaction_id", a.env.TransactionID))
	}
	var pe *PanicError
	if errors.As(err, &pe) {
		attrs = append(attrs, slog.String("stack", truncate(string(pe.Stack), maxLoggedStack)))
	}
	msg, metric := "job failed; will retry", MetricRetried
	if last {
		msg, metric = "job failed; the event is going to the DLQ", MetricFailed
	}
	attrs = append(attrs, p.metrics(a, logging.Count(metric, 1))...)
	a.log.LogAttrs(ctx, slog.LevelError, msg, attrs...)
	return Result{MessageID: a.m.ID, Action: action, Delay: delay, Outcome: OutcomeFailed, Err: err}
}

func (p *Processor) hide(ctx context.Context, a *attempt, d time.Duration) {
	if a.m.ReceiptHandle == "" {
		return
	}
	// Use a fresh bound: the job's context may have run out, and the
	// backoff must still be set.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := p.cfg.Visibility.ChangeVisibility(ctx, a.m.ReceiptHandle, d); err != nil {
		// The message then comes back when the queue's visibility timeout
		// runs out: later than the schedule, never lost.
		a.log.Warn("could not set the message's visibility", logging.Err(err), slog.Duration("wanted", d))
	}
}

// The processor's CloudWatch metrics (Embedded Metric Format, in the line
// that ends each attempt), by provider (the line's provider field).
const (
	MetricProcessed      = "EventsProcessed"
	MetricDuplicate      = "EventsDuplicate"
	MetricRetried        = "EventsRetried"
	MetricFailed         = "EventsFailed"
	MetricMismatch       = "EventsMismatch"
	MetricAmountMismatch = "EventsAmountMismatch"
	MetricLatency        = "ReceiptToAppliedMs"
)

func (p *Processor) metrics(a *attempt, metrics ...Metric) []slog.Attr {
	var dims map[string]string
	if !a.decoded {
		// The line has no provider field yet: the metric needs one.
		provider, _ := a.failureName()
		dims = map[string]string{"provider": provider}
	}
	return logging.Metrics(p.cfg.Now(), dims, [][]string{{"provider"}}, metrics...)
}

// maxStoredError keeps an event record under 1 KB, one write unit.
const maxStoredError = 600

// maxStoredNote bounds a decision's note in the record's detail, for the
// same reason.
const maxStoredNote = 256

// maxLoggedStack bounds a panic's stack in the log.
const maxLoggedStack = 4096

// storedDetail is the detail an outcome is recorded with: the decision's
// sentence, then its note, cut.
func storedDetail(d Decision) string {
	switch {
	case d.Note == "":
		return d.Detail
	case d.Detail == "":
		return truncate(d.Note, maxStoredNote)
	}
	return d.Detail + "; " + truncate(d.Note, maxStoredNote)
}

// truncate cuts s to at most n bytes, on a rune boundary, and marks the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func keyAttr(provider string) string {
	if provider == envelope.ProviderStripe {
		return "event_id"
	}
	return "event_key"
}

// Package failedjobs is the hub's failed_jobs: the dead-letter queue and the
// failure records the processor writes, and what operators do with them
// (Laravel's queue:failed, queue:retry, queue:forget and queue:flush, and the
// AWS console's "Start DLQ redrive").
//
// SQS has no browse API. Listing the DLQ, or finding one message in it,
// means receiving its messages: each receive hides the message for a moment
// and raises its ApproximateReceiveCount. This package hides what it reads
// for ScanVisibility only, and makes every message it did not act on visible
// again at once.
package failedjobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store"
)

// ScanVisibility hides each DLQ message read during a scan, so that one scan
// sees each message once; messages not acted on are released right after.
const ScanVisibility = 30 * time.Second

// MaxScan bounds the messages one scan reads.
const MaxScan = 10000

// API is the part of the SQS client used here.
type API interface {
	sqsqueue.ConsumerAPI
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	PurgeQueue(ctx context.Context, in *sqs.PurgeQueueInput, optFns ...func(*sqs.Options)) (*sqs.PurgeQueueOutput, error)
	StartMessageMoveTask(ctx context.Context, in *sqs.StartMessageMoveTaskInput, optFns ...func(*sqs.Options)) (*sqs.StartMessageMoveTaskOutput, error)
	ListMessageMoveTasks(ctx context.Context, in *sqs.ListMessageMoveTasksInput, optFns ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error)
	CancelMessageMoveTask(ctx context.Context, in *sqs.CancelMessageMoveTaskInput, optFns ...func(*sqs.Options)) (*sqs.CancelMessageMoveTaskOutput, error)
}

// Config wires a Service.
type Config struct {
	SQS API
	// QueueURL is the source queue, where retried events go.
	QueueURL string
	// DLQURL is the dead-letter queue.
	DLQURL string
	Store  store.Store
	Logger *slog.Logger
	// Wait is the long-polling wait of a scan's receives (default 1 s): a
	// scan ends at the first empty receive.
	Wait time.Duration
}

// Service operates the failed jobs.
type Service struct {
	cfg Config
	dlq *sqsqueue.Consumer // releases and deletes on the DLQ, in batches
}

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.SQS == nil:
		return nil, errors.New("failedjobs: an SQS client is required")
	case cfg.QueueURL == "":
		return nil, errors.New("QUEUE_URL is not set: it names the queue failed events are retried on (`eval \"$(hubctl setup)\"` locally, `terraform output -raw hubctl_env` on AWS)")
	case cfg.DLQURL == "":
		return nil, errors.New("DLQ_URL is not set: it names the dead-letter queue (`eval \"$(hubctl setup)\"` locally, `terraform output -raw hubctl_env` on AWS)")
	case cfg.Store == nil:
		return nil, errors.New("failedjobs: a store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Wait <= 0 {
		cfg.Wait = time.Second
	}
	dlq, err := sqsqueue.NewConsumer(cfg.SQS, cfg.DLQURL)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, dlq: dlq}, nil
}

// FailedJob is one DLQ message joined with its failure record.
type FailedJob struct {
	MessageID     string `json:"message_id"`
	Provider      string `json:"provider"`
	EventKey      string `json:"event_key"`
	EventType     string `json:"event_type,omitempty"`
	TransactionID string `json:"transaction_id,omitempty"`
	// Attempts is the processing attempts the failure record counts.
	Attempts int `json:"attempts"`
	// ReceiveCount is the message's ApproximateReceiveCount, listing
	// included.
	ReceiveCount int       `json:"receive_count"`
	FailedAt     time.Time `json:"failed_at,omitzero"`
	EnqueuedAt   time.Time `json:"enqueued_at,omitzero"`
	Error        string    `json:"error"`
	ErrorType    string    `json:"error_type,omitempty"`
	Permanent    bool      `json:"permanent"`
	// Record says whether a failure record was found.
	Record string `json:"record"`
}

// scanned is a received DLQ message.
type scanned struct {
	msg types.Message
	job FailedJob
}

// scan receives up to limit DLQ messages, each once, and joins them with
// their failure records. The caller must release what it does not delete.
func (s *Service) scan(ctx context.Context, limit int) ([]scanned, error) {
	if limit <= 0 || limit > MaxScan {
		limit = MaxScan
	}
	var out []scanned
	for len(out) < limit {
		resp, err := s.cfg.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(s.cfg.DLQURL),
			MaxNumberOfMessages:         int32(min(10, limit-len(out))),
			WaitTimeSeconds:             int32(s.cfg.Wait / time.Second),
			VisibilityTimeout:           int32(ScanVisibility / time.Second),
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			AttributeNames:              []types.QueueAttributeName{"All"}, //nolint:staticcheck // local servers read the old field
		})
		if err != nil {
			return out, fmt.Errorf("receive from the DLQ: %w", err)
		}
		if len(resp.Messages) == 0 {
			break
		}
		for _, m := range resp.Messages {
			out = append(out, scanned{msg: m, job: s.join(ctx, m)})
		}
	}
	return out, nil
}

// join builds a FailedJob from a message and its failure record.
func (s *Service) join(ctx context.Context, m types.Message) FailedJob {
	attr := func(k string) string {
		if v, ok := m.MessageAttributes[k]; ok {
			return aws.ToString(v.StringValue)
		}
		return ""
	}
	j := FailedJob{
		MessageID: aws.ToString(m.MessageId), Provider: attr(envelope.AttrProvider), EventKey: attr(envelope.AttrEventKey),
		EventType: attr(envelope.AttrEventType), TransactionID: attr(envelope.AttrTransactionID),
	}
	j.ReceiveCount, _ = strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		j.EnqueuedAt = time.UnixMilli(ms).UTC()
	}
	j.Provider, j.EventKey = processing.FailureName(j.Provider, j.EventKey, j.MessageID)
	rec, err := s.cfg.Store.Event(ctx, j.Provider, j.EventKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		j.Record, j.Error = "missing", "no failure record (the event may have been forgotten or never processed)"
	case err != nil:
		j.Record, j.Error = "unreadable", "failure record unreadable: "+err.Error()
	default:
		j.Record = string(rec.Status)
		j.Attempts, j.FailedAt, j.Error, j.ErrorType, j.Permanent = rec.Attempts, rec.LastFailedAt, rec.LastError, rec.ErrorType, rec.Permanent
		if j.EventType == "" {
			j.EventType = rec.EventType
		}
		if j.TransactionID == "" {
			j.TransactionID = rec.TransactionID
		}
	}
	return j
}

// release makes scanned messages visible again at once.
func (s *Service) release(ctx context.Context, msgs []scanned) error {
	// Releasing must happen even on Ctrl-C.
	if err := s.dlq.Release(context.WithoutCancel(ctx), handles(msgs)); err != nil {
		return fmt.Errorf("could not make listed messages visible again (they reappear within %s): %w", ScanVisibility, err)
	}
	return nil
}

// releaseOrWarn releases msgs on a path that already has its own outcome;
// a failure only delays their return by ScanVisibility, so it is logged.
func (s *Service) releaseOrWarn(ctx context.Context, msgs []scanned) {
	if err := s.release(ctx, msgs); err != nil {
		s.cfg.Logger.Warn("release DLQ messages", "messages", len(msgs), "error", err.Error())
	}
}

func handles(msgs []scanned) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = aws.ToString(m.msg.ReceiptHandle)
	}
	return out
}

// List returns up to limit failed jobs (0: up to MaxScan). It leaves the DLQ
// as it found it, but for the receive counts, which listing raises by one.
func (s *Service) List(ctx context.Context, limit int) ([]FailedJob, error) {
	msgs, err := s.scan(ctx, limit)
	rerr := s.release(ctx, msgs)
	if err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, rerr
	}
	jobs := make([]FailedJob, len(msgs))
	for i, m := range msgs {
		jobs[i] = m.job
	}
	return jobs, nil
}

// ErrNotInDLQ is returned for message ids the DLQ does not hold.
var ErrNotInDLQ = errors.New("not in the DLQ")

// find scans the DLQ for the given message ids. It returns what it found and
// releases everything else.
func (s *Service) find(ctx context.Context, ids []string) (map[string]scanned, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	msgs, err := s.scan(ctx, 0)
	found := map[string]scanned{}
	var rest []scanned
	for _, m := range msgs {
		if id := aws.ToString(m.msg.MessageId); want[id] {
			found[id] = m
		} else {
			rest = append(rest, m)
		}
	}
	s.releaseOrWarn(ctx, rest)
	if err != nil {
		s.releaseOrWarn(ctx, values(found))
		return nil, err
	}
	return found, nil
}

func values(m map[string]scanned) []scanned {
	out := make([]scanned, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// Outcome of one message in Retry or Forget.
type Outcome struct {
	MessageID string `json:"message_id"`
	Provider  string `json:"provider,omitempty"`
	EventKey  string `json:"event_key,omitempty"`
	// NewMessageID is the id of the copy on the source queue (Retry).
	NewMessageID string `json:"new_message_id,omitempty"`
	Result       string `json:"result"`
	Error        string `json:"error,omitempty"`
}

// Retry puts the given DLQ messages back on the source queue (send, then
// delete from the DLQ), as Laravel's queue:retry ID does. Each copy is a new
// message with a receive count of zero; the processor recognises the event by
// its provider event key, so it is applied once whatever path brought it
// back. The error is non-nil when any id failed.
func (s *Service) Retry(ctx context.Context, ids []string) ([]Outcome, error) {
	found, err := s.find(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []Outcome
	failed := 0
	for _, id := range ids {
		m, ok := found[id]
		if !ok {
			out = append(out, Outcome{MessageID: id, Result: "not_found", Error: ErrNotInDLQ.Error()})
			failed++
			continue
		}
		delete(found, id)
		o := Outcome{MessageID: id, Provider: m.job.Provider, EventKey: m.job.EventKey}
		sent, err := s.cfg.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.cfg.QueueURL), MessageBody: m.msg.Body, MessageAttributes: redriven(m.msg.MessageAttributes)})
		if err != nil {
			o.Result, o.Error = "failed", "send to the source queue: "+err.Error()
			failed++
			s.releaseOrWarn(ctx, []scanned{m})
			out = append(out, o)
			continue
		}
		o.NewMessageID, o.Result = aws.ToString(sent.MessageId), "retried"
		if _, err := s.cfg.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.cfg.DLQURL), ReceiptHandle: m.msg.ReceiptHandle}); err != nil {
			// The copy is queued; the original reappears in the DLQ. A later
			// retry of it is deduplicated by its event key.
			o.Error = "retried, but the DLQ copy could not be deleted: " + err.Error()
		}
		s.cfg.Logger.Info("failed job retried", "message_id", id, "new_message_id", o.NewMessageID, "provider", o.Provider, "event_key", o.EventKey)
		out = append(out, o)
	}
	s.releaseOrWarn(ctx, values(found)) // duplicates of an id asked twice
	if failed > 0 {
		return out, fmt.Errorf("%d of %d messages could not be retried", failed, len(ids))
	}
	return out, nil
}

// Forget deletes one message from the DLQ and marks its failure record
// forgotten, as Laravel's queue:forget ID does.
func (s *Service) Forget(ctx context.Context, id string) (Outcome, error) {
	found, err := s.find(ctx, []string{id})
	if err != nil {
		return Outcome{}, err
	}
	m, ok := found[id]
	if !ok {
		return Outcome{MessageID: id, Result: "not_found"}, fmt.Errorf("message %s is %w", id, ErrNotInDLQ)
	}
	o := Outcome{MessageID: id, Provider: m.job.Provider, EventKey: m.job.EventKey}
	if _, err := s.cfg.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.cfg.DLQURL), ReceiptHandle: m.msg.ReceiptHandle}); err != nil {
		s.releaseOrWarn(ctx, []scanned{m})
		return o, fmt.Errorf("delete %s from the DLQ: %w", id, err)
	}
	o.Result = "forgotten"
	if err := s.cfg.Store.Forget(ctx, m.job.Provider, m.job.EventKey, time.Now()); err != nil {
		o.Error = "deleted from the DLQ; failure record not marked forgotten: " + err.Error()
	}
	s.cfg.Logger.Info("failed job forgotten", "message_id", id, "provider", o.Provider, "event_key", o.EventKey)
	return o, nil
}

// ErrPurgeInProgress is returned when the DLQ was purged less than 60 s ago.
var ErrPurgeInProgress = errors.New("a purge of this queue is already in progress: SQS allows one PurgeQueue per queue every 60 seconds; wait a minute and run it again")

// Flush purges the DLQ, as Laravel's queue:flush does. The failure records
// stay, for the record.
func (s *Service) Flush(ctx context.Context) error {
	_, err := s.cfg.SQS.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(s.cfg.DLQURL)})
	var inProgress *types.PurgeQueueInProgress
	if errors.As(err, &inProgress) {
		return ErrPurgeInProgress
	}
	if err != nil {
		return fmt.Errorf("purge the DLQ: %w", err)
	}
	s.cfg.Logger.Info("failed jobs flushed", "dlq_url", s.cfg.DLQURL)
	return nil
}

// redriven marks a copy moved back from the DLQ, so that the processor
// closes the event's failure record when it succeeds (envelope.AttrRedrive).
func redriven(attrs map[string]types.MessageAttributeValue) map[string]types.MessageAttributeValue {
	out := make(map[string]types.MessageAttributeValue, len(attrs)+1)
	for k, v := range attrs {
		out[k] = v
	}
	out[envelope.AttrRedrive] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String("manual")}
	return out
}

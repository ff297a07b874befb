package provision

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSAPI is the part of the SQS client Queues uses.
type SQSAPI interface {
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	CreateQueue(ctx context.Context, in *sqs.CreateQueueInput, optFns ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	SetQueueAttributes(ctx context.Context, in *sqs.SetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.SetQueueAttributesOutput, error)
}

// QueuePair is the queue and DLQ that Queues found or created. (It cannot
// be named Queues: Go gives a function and a type of one package separate
// names.)
type QueuePair struct {
	URL, ARN       string
	DLQURL, DLQARN string
	// Created names the queues this call created, DLQ first; empty when
	// both existed.
	Created []string
}

// Queue attribute names, as SQS spells them.
const (
	attrQueueArn               = "QueueArn"
	attrVisibilityTimeout      = "VisibilityTimeout"
	attrRetention              = "MessageRetentionPeriod"
	attrMaximumMessageSize     = "MaximumMessageSize"
	attrReceiveWaitTimeSeconds = "ReceiveMessageWaitTimeSeconds"
	attrSSE                    = "SqsManagedSseEnabled"
	attrRedrivePolicy          = "RedrivePolicy"
	attrRedriveAllowPolicy     = "RedriveAllowPolicy"
)

// DriftError says that a queue's attribute differs from the spec. Queues
// never alters an existing queue's settings: a difference is either a
// mistake in the spec or a deliberate change that an operator should make
// (in Terraform, or by hand), not a dev tool.
type DriftError struct {
	Queue     string
	Attribute string
	Want, Got string
	// Missing: the server reports no value for the attribute.
	Missing bool
	// Created: this call asked for the value (it created the queue, or set
	// the attribute), so the server did not apply what it was given.
	Created bool
}

func (e *DriftError) Error() string {
	switch {
	case e.Created && e.Missing:
		return fmt.Sprintf("provision: queue %q was given %s %s, but the server reports no %s", e.Queue, e.Attribute, e.Want, e.Attribute)
	case e.Created:
		return fmt.Sprintf("provision: queue %q was given %s %s, but the server reports %s", e.Queue, e.Attribute, e.Want, e.Got)
	case e.Missing:
		return fmt.Sprintf("provision: queue %q exists without %s (want %s); this tool does not change existing queues: set it (terraform, or aws sqs set-queue-attributes) or delete the queue", e.Queue, e.Attribute, e.Want)
	default:
		return fmt.Sprintf("provision: queue %q exists with %s %s, want %s; this tool does not change existing queues: fix the spec, change the queue (terraform, or aws sqs set-queue-attributes), or delete it", e.Queue, e.Attribute, e.Got, e.Want)
	}
}

// wantAttr is one attribute a queue must have.
type wantAttr struct {
	name, value string
	same        func(want, got string) bool
}

func sameInt(want, got string) bool {
	w, err1 := strconv.ParseInt(strings.TrimSpace(want), 10, 64)
	g, err2 := strconv.ParseInt(strings.TrimSpace(got), 10, 64)
	if err1 != nil || err2 != nil {
		return want == got
	}
	return w == g
}

func sameBool(want, got string) bool {
	return strings.EqualFold(strings.TrimSpace(want), strings.TrimSpace(got))
}

func sameRedrivePolicy(want, got string) bool {
	wARN, wN, err := ParseRedrivePolicy(want)
	if err != nil {
		return false
	}
	gARN, gN, err := ParseRedrivePolicy(got)
	return err == nil && wARN == gARN && wN == gN
}

// Queues creates, when missing, the DLQ and then the source queue of spec
// (after SetDefaults), with the source's RedrivePolicy pointing at the DLQ
// and the DLQ's RedriveAllowPolicy admitting the source. Both queues get
// SSE-SQS (SqsManagedSseEnabled).
//
// Every attribute is read back, whether the queue was created now or
// existed: a value that differs from spec is returned as a *DriftError and
// left as it is. Only a missing RedriveAllowPolicy on the DLQ is set, as the
// last step of creating the pair; an existing one must already admit the
// source queue. Running Queues twice changes nothing.
func Queues(ctx context.Context, api SQSAPI, spec QueueSpec) (QueuePair, error) {
	if api == nil {
		return QueuePair{}, errors.New("provision: nil SQS client")
	}
	spec.SetDefaults()
	if err := spec.Validate(); err != nil {
		return QueuePair{}, err
	}
	var q QueuePair

	dlq := []wantAttr{
		{attrRetention, seconds(spec.DLQRetention), sameInt},
		{attrSSE, "true", sameBool},
	}
	dlqURL, dlqAttrs, created, err := ensureQueue(ctx, api, spec.DLQName, dlq)
	if err != nil {
		return QueuePair{}, err
	}
	q.DLQURL, q.DLQARN = dlqURL, dlqAttrs[attrQueueArn]
	if created {
		q.Created = append(q.Created, spec.DLQName)
	}

	source := []wantAttr{
		{attrVisibilityTimeout, seconds(spec.VisibilityTimeout), sameInt},
		{attrRetention, seconds(spec.Retention), sameInt},
		{attrMaximumMessageSize, strconv.Itoa(MaximumMessageSize), sameInt},
		{attrReceiveWaitTimeSeconds, strconv.Itoa(ReceiveWaitTimeSeconds), sameInt},
		{attrSSE, "true", sameBool},
		{attrRedrivePolicy, encodeRedrivePolicy(q.DLQARN, spec.MaxReceiveCount), sameRedrivePolicy},
	}
	srcURL, srcAttrs, created, err := ensureQueue(ctx, api, spec.Name, source)
	if err != nil {
		return QueuePair{}, err
	}
	q.URL, q.ARN = srcURL, srcAttrs[attrQueueArn]
	if created {
		q.Created = append(q.Created, spec.Name)
	}

	if err := ensureRedriveAllowed(ctx, api, spec.DLQName, q.DLQURL, dlqAttrs[attrRedriveAllowPolicy], q.ARN); err != nil {
		return QueuePair{}, err
	}
	return q, nil
}

// ensureQueue returns the URL and attributes of the queue name, creating it
// with want when it does not exist, and checks its attributes against want.
func ensureQueue(ctx context.Context, api SQSAPI, name string, want []wantAttr) (queueURL string, attrs map[string]string, created bool, err error) {
	got, err := api.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	switch {
	case err == nil:
		queueURL = aws.ToString(got.QueueUrl)
	case isQueueDoesNotExist(err):
		// Looking up first, rather than relying on CreateQueue being
		// idempotent, keeps an existing queue's attributes out of the
		// comparison CreateQueue makes: servers differ on which
		// attributes it compares (local-aws-sqs compares all of them,
		// including ones set afterwards such as RedriveAllowPolicy).
		in := &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{}}
		for _, a := range want {
			in.Attributes[a.name] = a.value
		}
		out, err := api.CreateQueue(ctx, in)
		if err != nil {
			var exists *types.QueueNameExists
			if errors.As(err, &exists) {
				return "", nil, false, fmt.Errorf("provision: queue %q was created meanwhile by someone else, with other attributes: %w", name, err)
			}
			return "", nil, false, fmt.Errorf("provision: create queue %q: %w", name, err)
		}
		queueURL, created = aws.ToString(out.QueueUrl), true
	default:
		return "", nil, false, fmt.Errorf("provision: look up queue %q: %w", name, err)
	}

	attrs, err = queueAttributes(ctx, api, name, queueURL)
	if err != nil {
		return "", nil, false, err
	}
	for _, a := range want {
		v, ok := attrs[a.name]
		if !ok {
			return "", nil, false, &DriftError{Queue: name, Attribute: a.name, Want: a.value, Missing: true, Created: created}
		}
		if !a.same(a.value, v) {
			return "", nil, false, &DriftError{Queue: name, Attribute: a.name, Want: a.value, Got: v, Created: created}
		}
	}
	return queueURL, attrs, created, nil
}

func queueAttributes(ctx context.Context, api SQSAPI, name, queueURL string) (map[string]string, error) {
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
	})
	if err != nil {
		return nil, fmt.Errorf("provision: read the attributes of queue %q: %w", name, err)
	}
	if out.Attributes[attrQueueArn] == "" {
		return nil, fmt.Errorf("provision: the server reports no QueueArn for queue %q", name)
	}
	return out.Attributes, nil
}

// ensureRedriveAllowed sets the DLQ's RedriveAllowPolicy to admit only
// sourceARN when it has none, and otherwise checks that the one it has
// admits sourceARN (allowAll, or byQueue listing it: a DLQ may serve
// other queues too).
func ensureRedriveAllowed(ctx context.Context, api SQSAPI, dlqName, dlqURL, current, sourceARN string) error {
	want := encodeRedriveAllowPolicy(sourceARN)
	if current == "" {
		if _, err := api.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
			QueueUrl:   aws.String(dlqURL),
			Attributes: map[string]string{attrRedriveAllowPolicy: want},
		}); err != nil {
			return fmt.Errorf("provision: set the RedriveAllowPolicy of queue %q: %w", dlqName, err)
		}
		attrs, err := queueAttributes(ctx, api, dlqName, dlqURL)
		if err != nil {
			return err
		}
		if current = attrs[attrRedriveAllowPolicy]; current == "" {
			return &DriftError{Queue: dlqName, Attribute: attrRedriveAllowPolicy, Want: want, Missing: true, Created: true}
		}
	}
	ok, err := redriveAllows(current, sourceARN)
	if err != nil {
		return fmt.Errorf("provision: queue %q: %w", dlqName, err)
	}
	if !ok {
		return &DriftError{Queue: dlqName, Attribute: attrRedriveAllowPolicy, Want: want, Got: current}
	}
	return nil
}

// isQueueDoesNotExist recognises the error by type and by code: SQS's JSON
// protocol names it QueueDoesNotExist, its query protocol (and the
// x-amzn-query-error header) AWS.SimpleQueueService.NonExistentQueue.
func isQueueDoesNotExist(err error) bool {
	var notFound *types.QueueDoesNotExist
	if errors.As(err, &notFound) {
		return true
	}
	// smithy.APIError's method, without making smithy-go a direct
	// dependency.
	var apiErr interface{ ErrorCode() string }
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue":
			return true
		}
	}
	return false
}

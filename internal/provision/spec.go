// Package provision creates the hub's SQS queue and its dead-letter queue
// with the production settings, against whatever endpoint the SDK
// configuration names: AWS, LocalStack or a local server. `hubctl setup`,
// `hubctl dev` and the integration tests use it; Terraform does the same in
// production (terraform/), and both must agree on the values below.
package provision

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of a QueueSpec: the production settings.
const (
	// DefaultVisibilityTimeout bounds an attempt: a job's deadline is kept
	// inside it (processing.DeadlineMargin).
	DefaultVisibilityTimeout = 60 * time.Second
	// DefaultRetention is SQS's own default.
	DefaultRetention = 4 * 24 * time.Hour
	// DefaultDLQRetention is SQS's maximum. A standard queue keeps a
	// message's original enqueue time when it dead-letters it, so the DLQ
	// must keep messages longer than the source does.
	DefaultDLQRetention = 14 * 24 * time.Hour
	// DefaultMaxReceiveCount is the processor's MAX_ATTEMPTS default.
	DefaultMaxReceiveCount = 3
	// DefaultDLQSuffix names the DLQ when QueueSpec.DLQName is empty.
	DefaultDLQSuffix = "-dlq"
)

// Fixed settings of the source queue.
const (
	// MaximumMessageSize is SQS's largest body (1 MiB since January 2026).
	MaximumMessageSize = 1 << 20
	// ReceiveWaitTimeSeconds makes every receive a long poll by default.
	ReceiveWaitTimeSeconds = 20
)

// SQS limits checked by Validate.
const (
	maxVisibilityTimeout = 12 * time.Hour
	minRetention         = time.Minute
	maxRetention         = 14 * 24 * time.Hour
	maxMaxReceiveCount   = 1000
	maxQueueNameLength   = 80
)

// QueueSpec describes the queue and its DLQ. Zero fields take the defaults
// in SetDefaults.
type QueueSpec struct {
	Name    string // the source queue
	DLQName string // default Name + "-dlq"

	VisibilityTimeout time.Duration // default 60 s; whole seconds, at most 12 h
	Retention         time.Duration // default 4 days; whole seconds, 1 min to 14 days
	DLQRetention      time.Duration // default 14 days; must exceed Retention
	MaxReceiveCount   int           // default 3: receives before a message is dead-lettered
}

// SetDefaults fills the zero fields.
func (s *QueueSpec) SetDefaults() {
	if s.DLQName == "" && s.Name != "" {
		s.DLQName = s.Name + DefaultDLQSuffix
	}
	if s.VisibilityTimeout == 0 {
		s.VisibilityTimeout = DefaultVisibilityTimeout
	}
	if s.Retention == 0 {
		s.Retention = DefaultRetention
	}
	if s.DLQRetention == 0 {
		s.DLQRetention = DefaultDLQRetention
	}
	if s.MaxReceiveCount == 0 {
		s.MaxReceiveCount = DefaultMaxReceiveCount
	}
}

// Validate reports every setting SQS would refuse, or that would lose
// messages, at once.
func (s QueueSpec) Validate() error {
	var errs []error
	if err := validateName("Name", s.Name); err != nil {
		errs = append(errs, err)
	}
	if err := validateName("DLQName", s.DLQName); err != nil {
		errs = append(errs, err)
	}
	if s.Name != "" && s.Name == s.DLQName {
		errs = append(errs, fmt.Errorf("DLQName %q must differ from Name", s.DLQName))
	}
	if err := validateSeconds("VisibilityTimeout", s.VisibilityTimeout, 0, maxVisibilityTimeout); err != nil {
		errs = append(errs, err)
	}
	if err := validateSeconds("Retention", s.Retention, minRetention, maxRetention); err != nil {
		errs = append(errs, err)
	}
	if err := validateSeconds("DLQRetention", s.DLQRetention, minRetention, maxRetention); err != nil {
		errs = append(errs, err)
	}
	if s.DLQRetention <= s.Retention {
		errs = append(errs, fmt.Errorf("DLQRetention %v must be longer than Retention %v: a dead-lettered message keeps its original enqueue time, so it would expire from the DLQ early (use 14 days, the maximum)", s.DLQRetention, s.Retention))
	}
	if s.MaxReceiveCount < 1 || s.MaxReceiveCount > maxMaxReceiveCount {
		errs = append(errs, fmt.Errorf("MaxReceiveCount %d must be between 1 and %d", s.MaxReceiveCount, maxMaxReceiveCount))
	}
	if len(errs) > 0 {
		return fmt.Errorf("provision: invalid queue spec: %w", errors.Join(errs...))
	}
	return nil
}

func validateName(field, name string) error {
	if name == "" {
		return fmt.Errorf("%s is empty", field)
	}
	if len(name) > maxQueueNameLength {
		return fmt.Errorf("%s %q is longer than %d characters", field, name, maxQueueNameLength)
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' && r != '_' {
			return fmt.Errorf("%s %q may hold only letters, digits, '-' and '_' (standard queues; FIFO queues are not supported)", field, name)
		}
	}
	return nil
}

func validateSeconds(field string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return fmt.Errorf("%s %v must be between %v and %v", field, d, lo, hi)
	}
	if d%time.Second != 0 {
		return fmt.Errorf("%s %v must be whole seconds", field, d)
	}
	return nil
}

func seconds(d time.Duration) string { return fmt.Sprint(int64(d / time.Second)) }

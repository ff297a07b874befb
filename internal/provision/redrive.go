package provision

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/payments-hub/hub/internal/config"
)

// redrivePolicy is written with maxReceiveCount as a JSON number, the form
// AWS returns.
type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount"`
}

func encodeRedrivePolicy(dlqARN string, maxReceiveCount int) string {
	b, _ := json.Marshal(redrivePolicy{dlqARN, maxReceiveCount})
	return string(b)
}

// ParseRedrivePolicy reads a queue's RedrivePolicy attribute. It accepts
// maxReceiveCount as a JSON number or as a string holding one: AWS returns
// a number, while local servers echo whatever was set, and older tools set
// a string.
func ParseRedrivePolicy(s string) (deadLetterTargetArn string, maxReceiveCount int, err error) {
	var p struct {
		DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return "", 0, fmt.Errorf("RedrivePolicy %.200q is not a JSON object: %w", s, err)
	}
	if p.DeadLetterTargetArn == "" {
		return "", 0, fmt.Errorf("RedrivePolicy %.200q has no deadLetterTargetArn", s)
	}
	raw := bytes.TrimSpace(p.MaxReceiveCount)
	if len(raw) == 0 || string(raw) == "null" {
		return "", 0, fmt.Errorf("RedrivePolicy %.200q has no maxReceiveCount", s)
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return "", 0, fmt.Errorf("RedrivePolicy %.200q: maxReceiveCount: %w", s, err)
		}
		text = strings.TrimSpace(text)
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("RedrivePolicy %.200q: maxReceiveCount %s is not a positive whole number", s, raw)
	}
	return p.DeadLetterTargetArn, n, nil
}

// Redrive permissions of a RedriveAllowPolicy.
const (
	permissionAllowAll = "allowAll"
	permissionDenyAll  = "denyAll"
	permissionByQueue  = "byQueue"
)

type redriveAllowPolicy struct {
	RedrivePermission string   `json:"redrivePermission"`
	SourceQueueArns   []string `json:"sourceQueueArns,omitempty"`
}

func encodeRedriveAllowPolicy(sourceARN string) string {
	b, _ := json.Marshal(redriveAllowPolicy{permissionByQueue, []string{sourceARN}})
	return string(b)
}

// redriveAllows reports whether a DLQ's RedriveAllowPolicy lets sourceARN
// use it as its dead-letter queue.
func redriveAllows(policy, sourceARN string) (bool, error) {
	var p redriveAllowPolicy
	if err := json.Unmarshal([]byte(policy), &p); err != nil {
		return false, fmt.Errorf("RedriveAllowPolicy %.200q is not a JSON object: %w", policy, err)
	}
	switch p.RedrivePermission {
	case permissionAllowAll:
		return true, nil
	case permissionDenyAll:
		return false, nil
	case permissionByQueue:
		return slices.Contains(p.SourceQueueArns, sourceARN), nil
	default:
		return false, errors.New("RedriveAllowPolicy has an unknown redrivePermission " + strconv.Quote(p.RedrivePermission))
	}
}

// QueueNameFromURL returns the queue name at the end of a queue URL or ARN
// (config.QueueNameFromURL).
func QueueNameFromURL(u string) string { return config.QueueNameFromURL(u) }

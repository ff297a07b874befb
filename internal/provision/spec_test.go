package provision_test

import (
	"strings"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/provision"
)

func TestSetDefaults(t *testing.T) {
	t.Parallel()
	s := provision.QueueSpec{Name: "hub"}
	s.SetDefaults()
	want := provision.QueueSpec{
		Name:              "hub",
		DLQName:           "hub-dlq",
		VisibilityTimeout: 60 * time.Second,
		Retention:         4 * 24 * time.Hour,
		DLQRetention:      14 * 24 * time.Hour,
		MaxReceiveCount:   3,
	}
	if s != want {
		t.Fatalf("SetDefaults = %+v, want %+v", s, want)
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}

	kept := provision.QueueSpec{Name: "a", DLQName: "b", VisibilityTimeout: 2 * time.Second, Retention: time.Hour, DLQRetention: 2 * time.Hour, MaxReceiveCount: 5}
	s = kept
	s.SetDefaults()
	if s != kept {
		t.Fatalf("SetDefaults changed set fields: %+v", s)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := func() provision.QueueSpec {
		s := provision.QueueSpec{Name: "hub_events-1"}
		s.SetDefaults()
		return s
	}
	tests := []struct {
		name   string
		modify func(*provision.QueueSpec)
		want   string // "" means valid
	}{
		{"defaults", func(*provision.QueueSpec) {}, ""},
		{"short test visibility", func(s *provision.QueueSpec) { s.VisibilityTimeout = time.Second }, ""},
		{"empty name", func(s *provision.QueueSpec) { s.Name = "" }, "Name is empty"},
		{"empty DLQ name", func(s *provision.QueueSpec) { s.DLQName = "" }, "DLQName is empty"},
		{"same names", func(s *provision.QueueSpec) { s.DLQName = s.Name }, "must differ"},
		{"fifo name", func(s *provision.QueueSpec) { s.Name = "hub.fifo" }, "FIFO"},
		{"name too long", func(s *provision.QueueSpec) { s.Name = strings.Repeat("q", 81) }, "longer than 80"},
		{"visibility over 12 h", func(s *provision.QueueSpec) { s.VisibilityTimeout = 13 * time.Hour }, "VisibilityTimeout"},
		{"fractional visibility", func(s *provision.QueueSpec) { s.VisibilityTimeout = 1500 * time.Millisecond }, "whole seconds"},
		{"retention under a minute", func(s *provision.QueueSpec) { s.Retention = time.Second }, "Retention"},
		{"DLQ retention over 14 days", func(s *provision.QueueSpec) { s.DLQRetention = 15 * 24 * time.Hour }, "DLQRetention"},
		{"DLQ retention equal to the source's", func(s *provision.QueueSpec) { s.DLQRetention = s.Retention }, "original enqueue time"},
		{"DLQ retention shorter", func(s *provision.QueueSpec) { s.Retention = 14 * 24 * time.Hour; s.DLQRetention = time.Hour }, "longer than Retention"},
		{"max receive count 0", func(s *provision.QueueSpec) { s.MaxReceiveCount = -1 }, "MaxReceiveCount"},
		{"max receive count over 1000", func(s *provision.QueueSpec) { s.MaxReceiveCount = 1001 }, "MaxReceiveCount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := valid()
			tt.modify(&s)
			err := s.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("Validate accepted %+v", s)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("Validate = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	err := provision.QueueSpec{MaxReceiveCount: -1}.Validate()
	if err == nil {
		t.Fatal("Validate accepted an empty spec")
	}
	for _, want := range []string{"Name is empty", "DLQName is empty", "MaxReceiveCount", "Retention"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to mention %q", err, want)
		}
	}
}

func TestParseRedrivePolicy(t *testing.T) {
	t.Parallel()
	const arn = "arn:aws:sqs:eu-west-1:123456789012:hub-dlq"
	tests := []struct {
		name   string
		policy string
		n      int // 0 means an error
	}{
		{"number, as AWS returns it", `{"deadLetterTargetArn":"` + arn + `","maxReceiveCount":3}`, 3},
		{"string, as some servers and tools write it", `{"deadLetterTargetArn":"` + arn + `","maxReceiveCount":"3"}`, 3},
		{"key order and spaces", ` { "maxReceiveCount" : 10 , "deadLetterTargetArn" : "` + arn + `" } `, 10},
		{"string with spaces", `{"deadLetterTargetArn":"` + arn + `","maxReceiveCount":" 5 "}`, 5},
		{"not JSON", `deadLetterTargetArn=` + arn, 0},
		{"empty", ``, 0},
		{"no ARN", `{"maxReceiveCount":3}`, 0},
		{"no count", `{"deadLetterTargetArn":"` + arn + `"}`, 0},
		{"null count", `{"deadLetterTargetArn":"` + arn + `","maxReceiveCount":null}`, 0},
		{"zero", `{"deadLetterTargetArn":"` + arn + `","maxReceiveCount":0}`, 0},
		{"negative", `{"deadLetterTargetArn":"` + arn + `","maxReceiveCount":-2}`, 0},
		{"fraction", `{"deadLetterTargetArn":"` + arn + `","maxReceiveCount":2.5}`, 0},
		{"word", `{"deadLetterTargetArn":"` + arn + `","maxReceiveCount":"three"}`, 0},
		{"bool", `{"deadLetterTargetArn":"` + arn + `","maxReceiveCount":true}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gotARN, n, err := provision.ParseRedrivePolicy(tt.policy)
			if tt.n == 0 {
				if err == nil {
					t.Fatalf("ParseRedrivePolicy(%s) = %q, %d; want an error", tt.policy, gotARN, n)
				}
				return
			}
			if err != nil || gotARN != arn || n != tt.n {
				t.Fatalf("ParseRedrivePolicy(%s) = %q, %d, %v; want %q, %d", tt.policy, gotARN, n, err, arn, tt.n)
			}
		})
	}
}

func TestQueueNameFromURL(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"https://sqs.eu-west-1.amazonaws.com/123456789012/hub-events":      "hub-events",
		"http://sqs.us-east-1.localhost:4566/000000000000/hub-events-dlq/": "hub-events-dlq",
		"http://127.0.0.1:38495/000000000000/hub":                          "hub",
		"arn:aws:sqs:eu-west-1:123456789012:hub-dlq":                       "hub-dlq",
		"hub":                         "hub",
		" https://q.example/1/hub \n": "hub",
		"https://sqs.amazonaws.com/":  "",
		"https://sqs.amazonaws.com":   "",
		"":                            "",
	}
	for in, want := range tests {
		if got := provision.QueueNameFromURL(in); got != want {
			t.Errorf("QueueNameFromURL(%q) = %q, want %q", in, got, want)
		}
	}
}

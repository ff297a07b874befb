package main

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/payments-hub/hub/internal/flowmetrics"
	"github.com/payments-hub/hub/internal/hubstatus"
	"github.com/payments-hub/hub/internal/store"
)

func TestTheLiveViewFitsEightyColumns(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	p50, p99 := 120.0, 4500.0
	flow := flowmetrics.Snapshot{Minutes: 15, Providers: map[string]flowmetrics.Flow{
		"stripe":   {PerMinute: map[string][]float64{"EventsProcessed": {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 1234567}}, LatencyP50: &p50, LatencyP99: &p99},
		"monetbil": {PerMinute: map[string][]float64{}},
	}}
	long := strings.Repeat("very-long-queue-name-", 5)
	age := 180.0
	st := hubstatus.Status{
		CollectedAt: now, AutoRedrive: "5m0s, 30m0s, 2h0m0s",
		Queue: hubstatus.QueueStatus{Name: long, Visible: 123456789}, DLQ: hubstatus.QueueStatus{Name: "payments-hub-failed-jobs", Visible: 2, OldestAgeSeconds: &age},
		NextRedrive:  &hubstatus.NextRedrive{Provider: "monetbil", EventKey: strings.Repeat("MB", 40) + ":success", Round: 2, Rounds: 3, DueAt: now.Add(90 * time.Second)},
		LastFailures: []store.EventRecord{{Provider: "monetbil", EventKey: "MB-1:success", LastError: strings.Repeat("monetbil checkPayment (transient): HTTP 500 ", 5), LastFailedAt: now}},
	}
	for _, f := range []frame{
		{st: st, flow: &flow, source: "local, http://127.0.0.1:8080/metrics", interval: 5 * time.Second},
		{st: st, flowNote: strings.Repeat("connection refused ", 10), source: "CloudWatch", interval: time.Second},
	} {
		lines := f.lines()
		for _, l := range lines {
			if n := utf8.RuneCountInString(l); n > width {
				t.Errorf("%d columns: %q", n, l)
			}
		}
		text := strings.Join(lines, "\n")
		for _, want := range []string{"Payments Hub - live", "2026-11-27 12:00:00 UTC", "QUEUE", "payments-hub-failed-jobs", "3m0s", "Next automatic redrive: in 1m30s, round 2/3 of monetbil MBMB", "Last failures:", "MB-1:success"} {
			if !strings.Contains(text, want) {
				t.Errorf("the view lacks %q:\n%s", want, text)
			}
		}
		if f.flow != nil && (!strings.Contains(text, "stripe    processed   _.............@") || !strings.Contains(text, "p50 120 ms, p99 4500 ms") || !strings.Contains(text, "1234658")) {
			t.Errorf("flow:\n%s", text)
		}
		if f.flow == nil && !strings.Contains(text, "Flow: unavailable (connection refused") {
			t.Errorf("no flow:\n%s", text)
		}
	}
}

func TestASparklineScalesToItsLargestMinute(t *testing.T) {
	t.Parallel()
	if got := sparkline([]float64{0, 1, 4, 8, 0}); got != "_:+@_" {
		t.Fatalf("sparkline %q", got)
	}
	if got := sparkline(make([]float64, 3)); got != "___" {
		t.Fatalf("empty sparkline %q", got)
	}
}

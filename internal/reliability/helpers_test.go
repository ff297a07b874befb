package reliability_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/retry"
)

// EnvSoak selects the long forms (`make soak`).
const EnvSoak = "HUB_SOAK"

const (
	stripeSecret   = "whsec_reliability"
	monetbilSecret = "monetbil_reliability"
)

// scaled is the default schedule (10, 30, 60 s) scaled down to 1, 2, 3 s.
var scaled = retry.Policy{Backoff: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, MaxAttempts: 3}

// size picks the short or the soak form of a count.
func size(short, long int) int {
	if os.Getenv(EnvSoak) == "1" {
		return long
	}
	return short
}

// bound picks the short or the soak form of a wait limit.
func bound(short, long time.Duration) time.Duration {
	if os.Getenv(EnvSoak) == "1" {
		return long
	}
	return short
}

func TestMain(m *testing.M) { os.Exit(hubtest.Main(m)) }

// logLines returns the JSON log lines whose msg is msg and whose
// attributes include key = value.
func logLines(logs *hubtest.Logs, msg, key, value string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, value) {
			continue
		}
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec["msg"] == msg && rec[key] == value {
			out = append(out, rec)
		}
	}
	return out
}

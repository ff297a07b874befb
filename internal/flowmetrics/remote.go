package flowmetrics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Remote reads the Snapshot a local sink serves (`hubctl dev` on HUB_URL,
// `hubctl work --metrics-addr`).
type Remote struct {
	URL    string
	Client *http.Client
}

// Read implements Source.
func (r Remote) Read(ctx context.Context) (Snapshot, error) {
	c := r.Client
	if c == nil {
		c = &http.Client{Timeout: 5 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return Snapshot{}, fmt.Errorf("metrics URL %q: %w", r.URL, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return Snapshot{}, fmt.Errorf("GET %s: %w", r.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Snapshot{}, fmt.Errorf("GET %s: HTTP %d", r.URL, resp.StatusCode)
	}
	var s Snapshot
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&s); err != nil {
		return Snapshot{}, fmt.Errorf("GET %s: not a metrics snapshot: %w", r.URL, err)
	}
	return s, nil
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payments-hub/hub/internal/iamrecord"
)

func writeSets(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]any{
		"ingest.json": Set{About: "a", Components: []string{"ingest"},
			Recorded:    []Entry{{Action: "sqs:SendMessage", Resource: "queue"}},
			Handwritten: []Entry{{Action: "logs:PutLogEvents", Resource: "log-group", Why: "Lambda"}}},
		"operator.json": Set{About: "o", Components: []string{"hubctl failed", "hubctl transactions"},
			Recorded: []Entry{{Action: "sqs:ReceiveMessage", Resource: "dlq"}, {Action: "dynamodb:GetItem", Resource: "transactions-table"}},
			Handwritten: []Entry{{Action: "dynamodb:Query", Resource: "transactions-table/index/i", Why: "soon", UntilRecorded: true},
				{Action: "sqs:SendMessage", Resource: "queue", Why: "move task"}}},
		"local.json": Local{About: "l", Components: map[string]string{"hubctl dev": "local", "hubctl transactions expect": "the application's"}},
	}
	for name, v := range files {
		b, _ := json.Marshal(v)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func recs(lines ...string) []iamrecord.Record {
	var out []iamrecord.Record
	for _, l := range lines {
		f := strings.SplitN(l, "|", 3)
		out = append(out, iamrecord.Record{Component: f[0], Action: f[1], Resource: f[2]})
	}
	return out
}

var matching = []string{
	"ingest|sqs:SendMessage|queue",
	"hubctl failed list|sqs:ReceiveMessage|dlq",
	"hubctl transactions get|dynamodb:GetItem|transactions-table",
	"hubctl dev|sqs:CreateQueue|queue",                               // local: held to nothing
	"hubctl transactions expect|dynamodb:PutItem|transactions-table", // local, though "hubctl transactions" is the operator's
}

func TestCheck(t *testing.T) {
	t.Parallel()
	sets, local, err := loadSets(writeSets(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		records []iamrecord.Record
		want    []string // substrings of the report; none means it passes
	}{
		{"the recording matches", recs(matching...), nil},
		{"an action the set lacks", recs(append(matching, "hubctl failed flush|sqs:PurgeQueue|dlq")...),
			[]string{"NOT GRANTED: hubctl failed flush performed sqs:PurgeQueue on dlq, which terraform/iam/operator.json lacks"}},
		{"the right action on the wrong resource", recs(append(matching, "ingest|sqs:SendMessage|dlq")...),
			[]string{"NOT GRANTED: ingest performed sqs:SendMessage on dlq"}},
		{"a grant nothing uses", recs(matching[:2]...),
			[]string{"NEVER CALLED: terraform/iam/operator.json grants dynamodb:GetItem on transactions-table"}},
		{"a component no set claims", recs(append(matching, "hubctl frobnicate|sqs:ListQueues|*")...),
			[]string{`component "hubctl frobnicate" belongs to no action set`}},
		{"an unclassified resource", recs(append(matching, "ingest|sqs:SendMessage|unknown:queue x")...),
			[]string{"unclassified resource: ingest: sqs:SendMessage on unknown:queue x"}},
		{"a set that never ran", recs(matching[0]),
			[]string{"no recording for the operator set"}},
		{"nothing recorded", nil, []string{"no AWS operation was recorded"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rep := Check(c.records, sets, local)
			if len(c.want) == 0 {
				if rep.Failed() {
					t.Fatalf("failed:\n%s", rep)
				}
				return
			}
			if !rep.Failed() {
				t.Fatal("passed")
			}
			for _, w := range c.want {
				if !strings.Contains(rep.String(), w) {
					t.Fatalf("report lacks %q:\n%s", w, rep)
				}
			}
		})
	}
}

func TestRewrite(t *testing.T) {
	t.Parallel()
	dir := writeSets(t)
	sets, local, err := loadSets(dir)
	if err != nil {
		t.Fatal(err)
	}
	records := recs(
		"ingest|sqs:SendMessage|queue",
		"ingest|logs:PutLogEvents|log-group", // also hand-written: stays hand-written only
		"hubctl failed retry|sqs:SendMessage|queue",
		"hubctl failed list|sqs:ReceiveMessage|dlq",
		"hubctl failed flush|sqs:PurgeQueue|dlq",
		"hubctl transactions get|dynamodb:Query|transactions-table/index/i", // the anticipated call arrives
	)
	if err := Rewrite(records, sets, local); err != nil {
		t.Fatal(err)
	}
	sets, local, err = loadSets(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep := Check(records, sets, local); rep.Failed() {
		t.Fatalf("the rewritten sets fail their own recording:\n%s", rep)
	}
	var op *Set
	for _, s := range sets {
		if s.name == "operator" {
			op = s
		}
	}
	b, _ := json.Marshal(op)
	want := `"recorded":[{"action":"sqs:PurgeQueue","resource":"dlq"},{"action":"sqs:ReceiveMessage","resource":"dlq"},{"action":"dynamodb:Query","resource":"transactions-table/index/i"}],"handwritten":[{"action":"sqs:SendMessage","resource":"queue","why":"move task"}]`
	if !strings.Contains(string(b), want) {
		t.Fatalf("operator set %s\nwant it to hold %s", b, want)
	}

	// A recording with an unclassified component is never written.
	if err := Rewrite(recs("hubctl frobnicate|sqs:ListQueues|*"), sets, local); err == nil {
		t.Fatal("rewrote sets from an unclassifiable recording")
	}
}

package config

import (
	"context"
	"strings"

	"github.com/payments-hub/hub/internal/secrets"
)

// Ingest is the ingest function's configuration.
type Ingest struct {
	QueueURL        string
	StripeSecrets   []string
	MonetbilSecret  string
	MaxMessageBytes int
}

// secretSpec names one secret: Var holds the value itself (local runs),
// ParamVar the name of an SSM SecureString holding it (AWS). Exactly one must
// be set.
type secretSpec struct{ Var, ParamVar string }

// LoadIngest reads the ingest configuration. Secrets come from the
// environment or from SSM parameters named by the *_PARAM variables, read
// once (one GetParameters call); store is only called when a parameter is
// named. A secret with white space around it is trimmed: a pasted newline
// must not make every signature fail.
func LoadIngest(ctx context.Context, getenv Getenv, store func() (secrets.ParameterStore, error)) (Ingest, error) {
	var p problems
	queueURL, err := QueueURL(getenv(EnvQueueURL))
	p.addErr(err)
	vals := resolveSecrets(ctx, getenv, store, &p,
		secretSpec{EnvStripeSecret, EnvStripeSecretParam}, secretSpec{EnvMonetbilSecret, EnvMonetbilSecretParam})
	var stripeSecrets []string
	if s, ok := vals[EnvStripeSecret]; ok {
		stripeSecrets, err = SplitSecrets(s)
		p.addErr(err)
	}
	maxBytes, _ := intVar(getenv, EnvMaxMessageBytes, 1<<20, 1024, 1<<20, " of bytes (the queue's maximum message size)", &p)
	if err := p.err(); err != nil {
		return Ingest{}, err
	}
	return Ingest{QueueURL: queueURL, StripeSecrets: stripeSecrets, MonetbilSecret: strings.TrimSpace(vals[EnvMonetbilSecret]), MaxMessageBytes: maxBytes}, nil
}

// resolveSecrets returns each spec's value keyed by spec.Var, from the
// environment or SSM. Problems are added to p.
func resolveSecrets(ctx context.Context, getenv Getenv, store func() (secrets.ParameterStore, error), p *problems, specs ...secretSpec) map[string]string {
	values := map[string]string{}
	params := map[string]string{} // parameter name -> spec.Var
	for _, s := range specs {
		v, param := getenv(s.Var), strings.TrimSpace(getenv(s.ParamVar))
		switch {
		case v != "" && param != "":
			p.add("both %s and %s are set: keep %s (the SSM parameter name) in AWS, %s only for local runs", s.Var, s.ParamVar, s.ParamVar, s.Var)
		case v != "":
			values[s.Var] = v
		case param != "":
			params[param] = s.Var
		default:
			p.add("%s is not set: set %s to the secret (local runs) or %s to the name of an SSM SecureString parameter holding it", s.Var, s.Var, s.ParamVar)
		}
	}
	if len(params) == 0 || len(*p) > 0 {
		return values
	}
	client, err := store()
	if err != nil {
		p.add("SSM client: %w", err)
		return values
	}
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	fetched, err := secrets.Fetch(ctx, client, names)
	if err != nil {
		p.add("%w (create the parameters with `aws ssm put-parameter --type SecureString`)", err)
		return values
	}
	for name, key := range params {
		if strings.TrimSpace(fetched[name]) == "" {
			p.add("SSM parameter %s (named by %s) is empty", name, key+"_PARAM")
			continue
		}
		values[key] = fetched[name]
	}
	return values
}

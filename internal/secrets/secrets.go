// Package secrets resolves the hub's secrets at start-up: from the
// environment for local runs, or from SSM Parameter Store SecureStrings by
// name in AWS, read once per cold start so that no secret lives in Lambda's
// environment, in Terraform state or in a log.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// ParameterStore is the part of the SSM client used here.
type ParameterStore interface {
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
}

// Spec names one secret: Var holds the value itself (local runs), ParamVar
// the name of an SSM parameter holding it (AWS). Exactly one must be set.
type Spec struct {
	Var      string // e.g. STRIPE_WEBHOOK_SECRET
	ParamVar string // e.g. STRIPE_WEBHOOK_SECRET_PARAM
}

// Resolve returns each spec's value keyed by spec.Var. Parameters are read
// in one GetParameters call with decryption. store is only called, and may
// only be nil, when no spec names a parameter.
func Resolve(ctx context.Context, getenv func(string) string, store func() (ParameterStore, error), specs ...Spec) (map[string]string, error) {
	values := map[string]string{}
	params := map[string]string{} // parameter name -> spec.Var
	var problems []string
	for _, s := range specs {
		v, p := getenv(s.Var), strings.TrimSpace(getenv(s.ParamVar))
		switch {
		case v != "" && p != "":
			problems = append(problems, fmt.Sprintf("both %s and %s are set: keep %s (the SSM parameter name) in AWS, %s only for local runs", s.Var, s.ParamVar, s.ParamVar, s.Var))
		case v != "":
			values[s.Var] = v
		case p != "":
			params[p] = s.Var
		default:
			problems = append(problems, fmt.Sprintf("%s is not set: set %s to the secret (local runs) or %s to the name of an SSM SecureString parameter holding it", s.Var, s.Var, s.ParamVar))
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	if len(params) == 0 {
		return values, nil
	}
	client, err := store()
	if err != nil {
		return nil, fmt.Errorf("secrets: SSM client: %w", err)
	}
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	out, err := client.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("secrets: read SSM parameters %s: %w", strings.Join(names, ", "), err)
	}
	if len(out.InvalidParameters) > 0 {
		return nil, fmt.Errorf("secrets: SSM parameters not found: %s (create them with `aws ssm put-parameter --type SecureString`)", strings.Join(out.InvalidParameters, ", "))
	}
	for _, p := range out.Parameters {
		name := aws.ToString(p.Name)
		if v := aws.ToString(p.Value); v != "" {
			values[params[name]] = v
		}
	}
	for name, key := range params {
		if values[key] == "" {
			return nil, fmt.Errorf("secrets: SSM parameter %s (named by %s) is empty", name, key+"_PARAM")
		}
	}
	return values, nil
}

// Package secrets reads the hub's secrets from SSM Parameter Store
// SecureStrings, once per cold start, so that no secret lives in Lambda's
// environment, in Terraform state or in a log. Which parameters to read is
// configuration (package config).
package secrets

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// ParameterStore is the part of the SSM client used here.
type ParameterStore interface {
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
}

// Fetch reads the named parameters with decryption in one GetParameters
// call (IAM action ssm:GetParameters) and returns their values by name. A
// parameter that does not exist is an error naming it.
func Fetch(ctx context.Context, store ParameterStore, names []string) (map[string]string, error) {
	sort.Strings(names)
	out, err := store.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read SSM parameters %s: %w", strings.Join(names, ", "), err)
	}
	if len(out.InvalidParameters) > 0 {
		return nil, fmt.Errorf("SSM parameters not found: %s", strings.Join(out.InvalidParameters, ", "))
	}
	values := make(map[string]string, len(out.Parameters))
	for _, p := range out.Parameters {
		values[aws.ToString(p.Name)] = aws.ToString(p.Value)
	}
	return values, nil
}

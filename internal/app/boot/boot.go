// Package boot is what every entry point of the hub starts with: its logger
// at LOG_LEVEL and the AWS SDK's configuration for its component. It imports
// no AWS service, so that a function builds only the clients it uses
// (package app for the processor, the redriver and hubctl; package
// app/ingest for the ingest function, which links neither DynamoDB nor the
// processing jobs).
package boot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/logging"
)

// loadOptions are added to every AWSConfig call by build-tagged files: the
// iamrecord build (tests only) records the AWS operations each component
// performs, to hold Terraform's IAM policies to what the code calls.
var loadOptions []func(component string) func(*awsconfig.LoadOptions) error

// AWSConfig loads the SDK's default configuration for one component of the
// hub ("ingest", "processor", or a hubctl command such as "hubctl failed
// list"), so that AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SQS /
// AWS_ENDPOINT_URL_DYNAMODB select LocalStack or a local server; the
// component only labels what the iamrecord build records.
func AWSConfig(ctx context.Context, component string) (aws.Config, error) {
	opts := make([]func(*awsconfig.LoadOptions) error, 0, len(loadOptions))
	for _, o := range loadOptions {
		opts = append(opts, o(component))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("no AWS region: set AWS_REGION (for example eu-west-1)")
	}
	return cfg, nil
}

// Logger returns the JSON logger of a command at level, as read from
// LOG_LEVEL (config.LogLevel, config.Hubctl.LogLevel): levelErr, an invalid
// level, is reported on the logger and info is used, so that a typo in a
// configuration never silences it.
func Logger(w io.Writer, level slog.Level, levelErr error) *slog.Logger {
	return warnLevel(logging.New(w, logging.FormatJSON, level), levelErr)
}

// LambdaLogger is the logger of a Lambda function at LOG_LEVEL (as Logger;
// CloudWatch stamps the time).
func LambdaLogger(w io.Writer, getenv config.Getenv) *slog.Logger {
	level, err := config.LogLevel(getenv)
	return warnLevel(logging.NewLambda(w, level), err)
}

func warnLevel(log *slog.Logger, err error) *slog.Logger {
	if err != nil {
		log.Warn("invalid LOG_LEVEL, using info", logging.Err(err))
	}
	return log
}

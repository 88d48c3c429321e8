package kubelet

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// Event is one klog call made by the kubelet code.
type Event struct {
	Time  time.Time `json:"time"`
	Level int       `json:"level"` // -1 for errors
	Msg   string    `json:"msg"`
	Err   string    `json:"err,omitempty"`
	// Provider is the "provider" (or "pluginName") value, when the call names one.
	Provider string `json:"provider,omitempty"`
	Image    string `json:"image,omitempty"`
}

// The kubelet credential-provider log messages the session interprets
// (k8s.io/kubernetes v1.37.1 pkg/credentialprovider/plugin/plugin.go).
const (
	msgExec            = "Getting image credentials from external exec plugin"
	msgNoSA            = "Service account name is empty"
	msgSADataFailed    = "Failed to get service account data"
	msgProvideFailed   = "Failed to provide credentials for image"
	requiredAnnotation = "required annotation"
)

// eventLog is a logr sink that keeps every klog event and echoes them to a writer.
type eventLog struct {
	mu     sync.Mutex
	events []Event
	echo   io.Writer
}

func (l *eventLog) logger() logr.Logger { return logr.New(&sink{log: l}) }

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	if l.echo != nil {
		line := fmt.Sprintf("klog V(%d) %s", e.Level, e.Msg)
		if e.Level < 0 {
			line = "klog ERROR " + e.Msg
		}
		if e.Provider != "" {
			line += " provider=" + e.Provider
		}
		if e.Image != "" {
			line += " image=" + e.Image
		}
		if e.Err != "" {
			line += " err=" + e.Err
		}
		fmt.Fprintln(l.echo, line)
	}
}

func (l *eventLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}

func (l *eventLog) since(i int) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events[i:]...)
}

type sink struct {
	log    *eventLog
	values []any
}

func (s *sink) Init(logr.RuntimeInfo) {}
func (s *sink) Enabled(int) bool      { return true }
func (s *sink) Info(level int, msg string, kv ...any) {
	s.log.add(s.event(level, msg, nil, kv))
}
func (s *sink) Error(err error, msg string, kv ...any) {
	s.log.add(s.event(-1, msg, err, kv))
}
func (s *sink) WithValues(kv ...any) logr.LogSink {
	return &sink{log: s.log, values: append(append([]any(nil), s.values...), kv...)}
}
func (s *sink) WithName(string) logr.LogSink { return s }

func (s *sink) event(level int, msg string, err error, kv []any) Event {
	e := Event{Time: time.Now(), Level: level, Msg: msg}
	if err != nil {
		e.Err = strings.ReplaceAll(err.Error(), "\n", " ")
	}
	all := append(append([]any(nil), s.values...), kv...)
	for i := 0; i+1 < len(all); i += 2 {
		k, _ := all[i].(string)
		v := fmt.Sprint(all[i+1])
		switch k {
		case "provider", "pluginName":
			e.Provider = v
		case "image":
			e.Image = v
		}
	}
	return e
}

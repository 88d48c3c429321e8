// Package duration is the duration type of the plugin's configuration files: a Go
// duration string ("30s", "1h30m") in YAML and JSON, as in the kubelet's own files.
//
// It exists so that configuration types do not need the Kubernetes API machinery
// (metav1.Duration), whose package initialization every plugin process would pay for.
package duration

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Duration is a time.Duration written as a Go duration string.
type Duration struct{ time.Duration }

// Of returns d as a Duration.
func Of(d time.Duration) Duration { return Duration{d} }

// Ptr returns a pointer to d as a Duration, for optional fields.
func Ptr(d time.Duration) *Duration { return &Duration{d} }

// MarshalJSON writes the duration as a string ("1m0s").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a Go duration string. The error says what is allowed and
// never names a Go type.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`want a duration string such as "30s" or "5m"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf(`invalid duration %q: want a duration such as "30s" or "5m"`, s)
	}
	d.Duration = v
	return nil
}

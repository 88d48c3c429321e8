package gcrtoken

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"cloud.google.com/go/compute/metadata"

	"github.com/imagecred/image-credential-provider/dockercfg"
	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/internal/match"
	"github.com/imagecred/image-credential-provider/providers"
)

// Instance attributes of auth-provider-gcp's dockercfg flows.
const (
	AttributeDockerCfg    = "google-dockercfg"
	AttributeDockerCfgURL = "google-dockercfg-url"
)

// maxDockerConfigBytes bounds a docker config read from an attribute or a URL.
const maxDockerConfigBytes = 1 << 20

func attributeFor(src string) string {
	if src == gcr.SourceDockerCfgURL {
		return AttributeDockerCfgURL
	}
	return AttributeDockerCfg
}

// dockerConfig reads the docker config of a dockercfg source (config.json or legacy
// .dockercfg layout, parsed like the kubelet by the static backend's parser; credential
// helpers named in it are never run). A missing attribute is errNotAvailable.
func (p *Provider) dockerConfig(ctx context.Context, src string) (*dockercfg.File, error) {
	attr := attributeFor(src)
	v, err := metadata.NewClient(p.mdsClient).InstanceAttributeValueWithContext(ctx, attr)
	var nd metadata.NotDefinedError
	if errors.As(err, &nd) {
		return nil, errNotAvailable{"instance attribute " + attr + " is not set"}
	}
	if err != nil {
		return nil, err
	}
	if len(v) > maxDockerConfigBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxDockerConfigBytes)
	}
	data := []byte(v)
	if src == gcr.SourceDockerCfgURL {
		if data, err = p.fetchDockerConfig(ctx, strings.TrimSpace(v)); err != nil {
			return nil, err
		}
	}
	return dockercfg.Parse("docker config", data)
}

// dockerConfigAuth picks the entries of cfg that may serve some repository on host (the
// kubelet matches the path), so a Registry-keyed answer holds for every repository.
func dockerConfigAuth(cfg *dockercfg.File, host string) map[string]providers.AuthConfig {
	auth := map[string]providers.AuthConfig{}
	for _, e := range cfg.Auths {
		n, err := match.NormalizeKey(e.Key)
		if err != nil || !match.ServesHost(n, host) {
			continue
		}
		if _, dup := auth[n]; !dup {
			auth[n] = providers.AuthConfig{Username: e.Username, Password: e.Password}
		}
	}
	return auth
}

// fetchDockerConfig reads the docker config at raw, which must be an https URL or a
// URL of the metadata server; redirects may not leave https, and the body is bounded.
func (p *Provider) fetchDockerConfig(ctx context.Context, raw string) ([]byte, error) {
	u, viaMetadata, err := checkDockerConfigURL(raw, os.Getenv("GCE_METADATA_HOST"))
	if err != nil {
		return nil, err
	}
	where := redactURL(u)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", where, err)
	}
	hc := p.mdsClient
	if viaMetadata {
		req.Header.Set("Metadata-Flavor", "Google")
	} else {
		hc = &http.Client{
			Transport: p.api,
			CheckRedirect: func(r *http.Request, via []*http.Request) error {
				if r.URL.Scheme != "https" {
					return errors.New("redirect to a non-https URL refused")
				}
				if len(via) >= 5 {
					return errors.New("too many redirects")
				}
				return nil
			},
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error repeats the URL, query string and all
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP status %d", where, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDockerConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if len(data) > maxDockerConfigBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", where, maxDockerConfigBytes)
	}
	return data, nil
}

// isMetadataHost reports whether u names the metadata server: its well-known names, or
// GCE_METADATA_HOST (metadataHostEnv).
func isMetadataHost(u *url.URL, metadataHostEnv string) bool {
	for _, h := range [...]string{"metadata.google.internal", "metadata.google.internal.", "169.254.169.254", "metadata", metadataHostEnv} {
		if h != "" && (u.Host == h || u.Hostname() == h && u.Port() == "80") {
			return true
		}
	}
	return false
}

// checkDockerConfigURL accepts an https URL, or an http URL of the metadata server
// (viaMetadata), and refuses everything else.
func checkDockerConfigURL(raw, metadataHostEnv string) (u *url.URL, viaMetadata bool, err error) {
	u, err = url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return nil, false, errors.New("the value is not an absolute URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, false, fmt.Errorf("URL scheme %q is not supported (want https, or http to the metadata server)", u.Scheme)
	}
	if u.Hostname() == "" || u.Opaque != "" {
		return nil, false, errors.New("the value is not an absolute URL")
	}
	switch u.Scheme {
	case "https":
		return u, false, nil
	case "http":
		if isMetadataHost(u, metadataHostEnv) {
			if u.User != nil {
				return nil, false, errors.New("a metadata server URL must not carry user info")
			}
			return u, true, nil
		}
	}
	return nil, false, fmt.Errorf("%s: plain http is only allowed to the metadata server; use https", redactURL(u))
}

// redactURL shows a URL without user info, query or fragment (signed URLs carry their
// credentials there).
func redactURL(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

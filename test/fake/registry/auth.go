package registry

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
)

// Validator reports whether secret is a credential the fake cloud issued and still
// honours (nil) or why it is refused (an error that must not contain the secret).
// Cloud fakes plug their "is this a token I issued, and is it unexpired" check in here.
type Validator func(secret string) error

// User is one static (htpasswd-style) account.
type User struct {
	Name     string
	Password string
	// Repos, when not empty, limits the user to repositories equal to or below one of
	// these paths ("images/subpath" allows "images/subpath" and "images/subpath/app").
	// This lets tests prove which of several matching credentials a puller used.
	Repos []string
}

// Scheme is how a registry challenges and authenticates clients.
type Scheme string

// The schemes the fake registries enforce, one per real registry family.
const (
	// SchemeBasic is HTTP basic auth on every request (ECR, htpasswd registries).
	SchemeBasic Scheme = "basic"
	// SchemeToken is the Docker token flow: a 401 with a Bearer challenge, the client
	// fetches a bearer token from the realm with basic auth (or an OAuth2 POST), then
	// retries with the bearer (Google Artifact Registry / GCR, ACR).
	SchemeToken Scheme = "token"
)

// Auth is the registry auth a fake registry enforces. Build one with ECRAuth,
// ECRPublicAuth, GoogleAuth, ACRAuth or StaticAuth.
type Auth struct {
	// Name labels the family in logs and stats ("ecr", "google", "acr", "static").
	Name   string
	Scheme Scheme
	// TokenPath is the token endpoint for SchemeToken ("/v2/token", "/oauth2/token").
	TokenPath string
	// Service is the service= value of the challenge; empty means the request's host.
	Service string
	// OAuthPOST makes the token endpoint accept the OAuth2 POST form
	// (grant_type=refresh_token or password) besides GET with basic auth.
	OAuthPOST bool
	// check validates a username/password for access to repo ("" = any repo: the
	// /v2/ ping or a token request before its scope is known).
	check func(username, password, repo string) error
}

// Errors returned by the checks. They never contain the secret.
var (
	ErrWrongUsername = errors.New("wrong username for this registry")
	ErrBadPassword   = errors.New("password refused")
	ErrRepoDenied    = errors.New("user may not pull this repository")
)

// ECRUsername is the only username Amazon ECR accepts with an authorization token.
const ECRUsername = "AWS"

// GoogleUsername is the username Google registries accept with an OAuth2 access token.
const GoogleUsername = "oauth2accesstoken"

// ACRRefreshTokenUsername is the username ACR expects with a refresh token.
const ACRRefreshTokenUsername = "00000000-0000-0000-0000-000000000000"

// ECRAuth is Amazon ECR's registry auth: basic auth as "AWS" with the password part of
// an authorization token the fake ECR issued (valid reports whether it did, unexpired).
func ECRAuth(valid Validator) Auth {
	return Auth{
		Name:    "ecr",
		Scheme:  SchemeBasic,
		Service: "ecr.amazonaws.com",
		check:   fixedUser(ECRUsername, valid),
	}
}

// ECRPublicAuth is Amazon ECR Public's registry auth (public.ecr.aws): the Docker token
// flow at /token/, where the client presents basic auth "AWS:<password part of an
// authorization token the fake ECR Public issued>" and gets a bearer. Unlike the real
// ECR Public, which also serves anonymous pulls, the fake refuses them, so a pull that
// works proves the plugin's credential was used.
func ECRPublicAuth(valid Validator) Auth {
	return Auth{
		Name:      "ecr-public",
		Scheme:    SchemeToken,
		TokenPath: "/token/",
		Service:   "public.ecr.aws",
		check:     fixedUser(ECRUsername, valid),
	}
}

// GoogleAuth is the auth of gcr.io / *-docker.pkg.dev: the Docker token flow with
// basic auth "oauth2accesstoken:<access token>" at /v2/token.
func GoogleAuth(valid Validator) Auth {
	return Auth{
		Name:      "google",
		Scheme:    SchemeToken,
		TokenPath: "/v2/token",
		check:     fixedUser(GoogleUsername, valid),
	}
}

// ACRAuth is Azure Container Registry's auth: the client trades an ACR refresh token
// (username 00000000-0000-0000-0000-000000000000) for an access token at /oauth2/token,
// by GET with basic auth or by the OAuth2 POST form, then uses it as a bearer.
func ACRAuth(valid Validator) Auth {
	return Auth{
		Name:      "acr",
		Scheme:    SchemeToken,
		TokenPath: "/oauth2/token",
		OAuthPOST: true,
		check:     fixedUser(ACRRefreshTokenUsername, valid),
	}
}

// StaticAuth is an htpasswd-style registry: basic auth against fixed users.
func StaticAuth(users ...User) Auth {
	byName := make(map[string]User, len(users))
	for _, u := range users {
		byName[u.Name] = u
	}
	return Auth{
		Name:   "static",
		Scheme: SchemeBasic,
		check: func(username, password, repo string) error {
			u, ok := byName[username]
			if !ok {
				return fmt.Errorf("unknown user %q", username)
			}
			if !constantTimeEqual(u.Password, password) {
				return ErrBadPassword
			}
			if repo != "" && !repoAllowed(u.Repos, repo) {
				return ErrRepoDenied
			}
			return nil
		},
	}
}

// StaticTokenAuth is StaticAuth behind the Docker token flow at /token (as a
// distribution registry with a token server), for tests of the token flow itself.
func StaticTokenAuth(users ...User) Auth {
	a := StaticAuth(users...)
	a.Name = "static-token"
	a.Scheme = SchemeToken
	a.TokenPath = "/token"
	a.OAuthPOST = true
	return a
}

func fixedUser(username string, valid Validator) func(string, string, string) error {
	return func(u, p, _ string) error {
		if u != username {
			return ErrWrongUsername
		}
		if valid == nil {
			return ErrBadPassword
		}
		if err := valid(p); err != nil {
			return fmt.Errorf("%w: %v", ErrBadPassword, err)
		}
		return nil
	}
}

func repoAllowed(prefixes []string, repo string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		p = strings.Trim(p, "/")
		if repo == p || strings.HasPrefix(repo, p+"/") {
			return true
		}
	}
	return false
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

package gcrtoken

import (
	"context"
	"net/url"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google/externalaccount"
)

// subjectTokenType is the type of a Kubernetes service account token for STS.
const subjectTokenType = "urn:ietf:params:oauth:token-type:jwt"

// podToken supplies the request's service account token to the STS exchange.
type podToken string

func (t podToken) SubjectToken(context.Context, externalaccount.SupplierOptions) (string, error) {
	return string(t), nil
}

// workloadToken exchanges the pod's token through STS (and, with a target service
// account, generateAccessToken) with x/oauth2/google/externalaccount.
func (p *Provider) workloadToken(ctx context.Context, token string, plan *wiPlan) (*oauth2.Token, error) {
	w := p.cfg.WorkloadIdentity
	conf := externalaccount.Config{
		Audience:             plan.audience,
		SubjectTokenType:     subjectTokenType,
		TokenURL:             w.TokenURL,
		Scopes:               p.cfg.Scopes,
		SubjectTokenSupplier: podToken(token),
	}
	if plan.impersonate != "" {
		conf.ServiceAccountImpersonationURL = impersonationURL(w.IAMCredentialsURL, plan.impersonate)
	}
	ts, err := externalaccount.NewTokenSource(p.apiContext(ctx), conf)
	if err != nil {
		return nil, err
	}
	tok, err := tokenWithin(ctx, ts)
	if err != nil {
		return nil, err
	}
	if err := p.checkFresh(tok); err != nil {
		return nil, err
	}
	return tok, nil
}

// impersonationURL is the IAM credentials generateAccessToken URL for email.
func impersonationURL(base, email string) string {
	return base + "/v1/projects/-/serviceAccounts/" + url.PathEscape(email) + ":generateAccessToken"
}

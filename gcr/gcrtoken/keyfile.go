package gcrtoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/imagecred/image-credential-provider/internal/textfile"
)

// maxKeyFileBytes bounds a credentials file (real ones are a few KiB).
const maxKeyFileBytes = 1 << 20

// keyFileTypes are the credentials file types accepted.
var keyFileTypes = []google.CredentialsType{
	google.ServiceAccount,
	google.ExternalAccount,
	google.ImpersonatedServiceAccount,
	google.AuthorizedUser,
}

// keyFileToken mints a token from a Google credentials file with x/oauth2/google.
func (p *Provider) keyFileToken(ctx context.Context, path string) (*oauth2.Token, error) {
	data, err := readBounded(path, maxKeyFileBytes)
	if err != nil {
		return nil, err
	}
	data = textfile.StripBOM(data)
	typ, err := keyFileType(data)
	if err != nil {
		return nil, err
	}
	creds, err := google.CredentialsFromJSONWithTypeAndParams(p.apiContext(ctx), data, typ, google.CredentialsParams{Scopes: p.cfg.Scopes})
	if err != nil {
		return nil, err
	}
	tok, err := tokenWithin(ctx, creds.TokenSource)
	if err != nil {
		return nil, err
	}
	if err := p.checkFresh(tok); err != nil {
		return nil, err
	}
	return tok, nil
}

// keyFileType reads the "type" of a credentials file and checks it is supported.
func keyFileType(data []byte) (google.CredentialsType, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return "", errors.New("not a JSON credentials file")
	}
	for _, t := range keyFileTypes {
		if google.CredentialsType(head.Type) == t {
			return t, nil
		}
	}
	if head.Type == "" {
		return "", errors.New(`the credentials file has no "type"`)
	}
	return "", fmt.Errorf("credentials type %q is not supported (want service_account, external_account, impersonated_service_account or authorized_user)", head.Type)
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	const head = `{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Registry",`
	tests := []struct {
		name, answer string
		usernames    []string
		want         []string
		wantErr      string
	}{
		{"ECR token", head + `"auth":{"1.dkr.ecr.us-east-1.amazonaws.com":{"username":"AWS","password":"SECRET-1"}}}`,
			[]string{"AWS"}, []string{"1.dkr.ecr.us-east-1.amazonaws.com"}, ""},
		{"one of several usernames, a spurious empty entry beside it, indented",
			"{\n  \"kind\": \"CredentialProviderResponse\",\n  \"auth\": {\n    \"*.azurecr.*\": {},\n    \"b.io\": {\"username\": \"_token\", \"password\": \"p\"},\n    \"a.io\": {\"username\": \"_token\", \"password\": \"q\"}\n  }\n}\n",
			[]string{"oauth2accesstoken", "_token"}, []string{"a.io", "b.io"}, ""},
		{"exit 0 with an empty auth map", head + `"auth":{}}`, []string{"AWS"}, nil, "no auth entry"},
		{"no auth at all", head + `"cacheDuration":"1m"}`, []string{"AWS"}, nil, "no auth entry"},
		{"wrong username", head + `"auth":{"gcr.io":{"username":"_json_key","password":"SECRET-2"}}}`,
			[]string{"oauth2accesstoken"}, nil, `gcr.io (username "_json_key", password 8 bytes)`},
		{"empty password", head + `"auth":{"x.io":{"username":"AWS","password":""}}}`, []string{"AWS"}, nil, "no auth entry with username AWS"},
		{"not an answer", `{"kind":"CredentialProviderRequest","image":"x"}`, []string{"AWS"}, nil, "kind"},
		{"not JSON", `error: no credentials`, []string{"AWS"}, nil, "not a JSON answer"},
		{"empty output", ``, []string{"AWS"}, nil, "not a JSON answer"},
		{"no username asked", head + `"auth":{}}`, []string{""}, nil, "no -username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := check(strings.NewReader(tt.answer), tt.usernames)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want error %q", got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "SECRET") {
					t.Errorf("error shows a password: %v", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

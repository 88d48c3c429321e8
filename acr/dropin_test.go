package acr

import (
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/internal/cliargs"
)

func TestParseDropIn(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantConfig Config
		wantV      int
		wantErr    string
	}{
		{"config file only", []string{"/etc/kubernetes/azure.json"}, Config{AzureConfig: "/etc/kubernetes/azure.json"}, 0, ""},
		{"aks invocation", []string{"/etc/kubernetes/azure.json", "--registry-mirror=mcr.microsoft.com:myacr.azurecr.io", "-v", "2"},
			Config{AzureConfig: "/etc/kubernetes/azure.json", RegistryMirror: "mcr.microsoft.com:myacr.azurecr.io"}, 2, ""},
		{"flags first, separate values", []string{"--registry-mirror", "a.io:b.azurecr.io,c.io:d.azurecr.io", "--v=4", "/azure.json"},
			Config{AzureConfig: "/azure.json", RegistryMirror: "a.io:b.azurecr.io,c.io:d.azurecr.io"}, 4, ""},
		{"shorthand -r and logging flags", []string{"-r", "a.io:b.azurecr.io", "--vmodule", "x=2", "--log-flush-frequency=5s", "--logging-format", "text", "--log-json-split-stream", "/azure.json"},
			Config{AzureConfig: "/azure.json", RegistryMirror: "a.io:b.azurecr.io"}, 0, ""},
		{"-- ends flags", []string{"--", "-odd-name.json"}, Config{AzureConfig: "-odd-name.json"}, 0, ""},
		{"no config file", []string{"-v", "2"}, Config{}, 0, "azure.json path argument is missing"},
		{"two config files", []string{"a.json", "b.json"}, Config{}, 0, "exactly one argument"},
		{"bad mirror", []string{"a.json", "--registry-mirror", "nocolon"}, Config{}, 0, "SOURCE:TARGET"},
		{"flag without value", []string{"a.json", "--registry-mirror"}, Config{}, 0, "needs a value"},
		{"bad verbosity", []string{"a.json", "-v", "loud"}, Config{}, 0, "verbosity"},
		{"identity bindings", []string{"a.json", "--ib-sni-name", "x"}, Config{}, 0, "identity bindings are not supported"},
		{"unknown flag", []string{"a.json", "--frobnicate"}, Config{}, 0, `unknown flag "--frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDropIn(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Verbosity != tt.wantV || d.Config.AzureConfig != tt.wantConfig.AzureConfig || d.Config.RegistryMirror != tt.wantConfig.RegistryMirror {
				t.Fatalf("got %+v", d)
			}
			c, err := DropInConfig(tt.args)
			if err != nil || c.AzureConfig != d.Config.AzureConfig {
				t.Fatalf("DropInConfig = %+v, %v", c, err)
			}
		})
	}
	if _, err := DropInConfig([]string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	if _, err := DropInConfig([]string{"/azure.json", "--version"}); !errors.Is(err, cliargs.ErrVersion) {
		t.Fatalf("--version: %v", err)
	}
}

func TestAddFlags(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.AddFlags(fs)
	err := fs.Parse([]string{"-acr-azure-config", "/a.json", "-acr-registry-mirror", "m.io:r.azurecr.io", "-acr-cloud", "AzureChinaCloud", "-acr-environment-file", "/env.json"})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{AzureConfig: "/a.json", RegistryMirror: "m.io:r.azurecr.io", Cloud: "AzureChinaCloud", EnvironmentFile: "/env.json"}
	if c.AzureConfig != want.AzureConfig || c.RegistryMirror != want.RegistryMirror || c.Cloud != want.Cloud || c.EnvironmentFile != want.EnvironmentFile {
		t.Fatalf("got %+v", c)
	}
	if err := fs.Parse([]string{"-azure-config", "/b.json"}); err != nil || c.AzureConfig != "/b.json" {
		t.Fatalf("-azure-config alias: %v %q", err, c.AzureConfig)
	}
}

func FuzzParseDropIn(f *testing.F) {
	f.Add("/etc/kubernetes/azure.json\x00--registry-mirror=a:b\x00-v\x002")
	f.Add("-r\x00\x00--")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		d, err := ParseDropIn(args)
		if err != nil {
			return
		}
		if d.Config.AzureConfig == "" && !contains(args, "") {
			t.Fatalf("accepted %q without a config path", args)
		}
		if _, err := ParseRegistryMirror(d.Config.RegistryMirror); err != nil {
			t.Fatalf("accepted a bad mirror: %v", err)
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

package binaries

import "testing"

func TestName(t *testing.T) {
	tests := []struct{ argv0, want string }{
		{"image-credential-provider", "image-credential-provider"},
		{"/usr/libexec/kubernetes/kubelet-plugins/credential-provider/exec/ecr-credential-provider", "ecr-credential-provider"},
		{`C:\k\credential-provider\ECR-Credential-Provider.EXE`, "ecr-credential-provider"},
		{`C:\k\acr-credential-provider.exe`, "acr-credential-provider"},
		{"./Image-Credential-Provider", "Image-Credential-Provider"}, // case kept without .exe: Linux names are case-sensitive
		{".exe", ".exe"},
	}
	for _, tt := range tests {
		if got := Name(tt.argv0); got != tt.want {
			t.Errorf("Name(%q) = %q, want %q", tt.argv0, got, tt.want)
		}
	}
}

func TestDropIn(t *testing.T) {
	for name, want := range map[string]string{"ecr-credential-provider": "ecr", "auth-provider-gcp": "gcr", "acr-credential-provider": "acr"} {
		if got, ok := DropIn(name); !ok || got != want {
			t.Errorf("DropIn(%q) = %q, %v", name, got, ok)
		}
		if _, ok := DropIn(Companion(want)); ok {
			t.Errorf("%s taken for a drop-in name", Companion(want))
		}
	}
	if _, ok := DropIn(FrontEnd); ok {
		t.Error("the front end taken for a drop-in name")
	}
}

func TestInstalled(t *testing.T) {
	got := Installed()
	want := []string{"image-credential-provider", "image-credential-provider-ecr", "image-credential-provider-gcr", "image-credential-provider-acr", "image-credential-provider-all"}
	if len(got) != len(want) {
		t.Fatalf("Installed() = %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Installed()[%d] = %q, want %q", i, got[i], want[i])
		}
	}
}

package imageref

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in         string
		host, path string
		hostName   string
		wantErr    bool
	}{
		{in: "docker.io/library/nginx", host: "docker.io", path: "library/nginx", hostName: "docker.io"},
		{in: "nginx", host: "docker.io", path: "library/nginx", hostName: "docker.io"},
		{in: "nginx:1.27", host: "docker.io", path: "library/nginx", hostName: "docker.io"},
		{in: "user/app", host: "docker.io", path: "user/app", hostName: "docker.io"},
		{in: "localhost:5000/team/app:v1", host: "localhost:5000", path: "team/app", hostName: "localhost"},
		{in: "127.0.0.1:15000/e2e/busybox", host: "127.0.0.1:15000", path: "e2e/busybox", hostName: "127.0.0.1"},
		{in: "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + sha, host: "123456789012.dkr.ecr.us-east-1.amazonaws.com", path: "app", hostName: "123456789012.dkr.ecr.us-east-1.amazonaws.com"},
		{in: "my-registry.example/images/sub/my-image:tag@sha256:" + sha, host: "my-registry.example", path: "images/sub/my-image", hostName: "my-registry.example"},
		{in: "[::1]:5000/app", host: "[::1]:5000", path: "app", hostName: "[::1]"},
		{in: "  gcr.io/p/i  ", host: "gcr.io", path: "p/i", hostName: "gcr.io"},
		{in: "", wantErr: true},
		{in: "Upper/Case", wantErr: true},
		{in: "bad image", wantErr: true},
		{in: "host:port:5/x", wantErr: true},
	}
	for _, tt := range tests {
		img, err := Parse(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("Parse(%q) = %+v, want error", tt.in, img)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if img.Host != tt.host || img.Path != tt.path || img.HostName() != tt.hostName {
			t.Errorf("Parse(%q) = host %q path %q hostname %q, want %q %q %q", tt.in, img.Host, img.Path, img.HostName(), tt.host, tt.path, tt.hostName)
		}
		if img.Repository() != tt.host+"/"+tt.path {
			t.Errorf("Repository() = %q", img.Repository())
		}
	}
}

const sha = "0123456789012345678901234567890123456789012345678901234567890123"

func FuzzParse(f *testing.F) {
	for _, s := range []string{"nginx", "localhost:5000/a/b:c", "gcr.io/x@sha256:" + sha, "[::1]:5/x", "a..b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		img, err := Parse(s)
		if err != nil {
			return
		}
		if img.Host == "" || img.Path == "" {
			t.Fatalf("Parse(%q) = %+v: empty host or path", s, img)
		}
		// The kubelet sends the repository back to us: it must parse to the same image.
		again, err := Parse(img.Repository())
		if err != nil || again != img {
			t.Fatalf("Parse(%q) = %+v, but its repository %q parses to %+v, %v", s, img, img.Repository(), again, err)
		}
	})
}

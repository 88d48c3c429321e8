// Command fakeaws runs the awsfake loopback fake of ECR, ECR Public and STS until it is
// killed (SIGINT or SIGTERM).
//
// It prints one NAME=value line per setting on stdout, then "READY":
//
//	URL=http://127.0.0.1:PORT
//	AWS_ENDPOINT_URL_ECR=http://127.0.0.1:PORT/ecr
//	AWS_ENDPOINT_URL_ECR_PUBLIC=http://127.0.0.1:PORT/ecr-public
//	AWS_ENDPOINT_URL_STS=http://127.0.0.1:PORT/sts
//	AWS_ACCESS_KEY_ID=AKIDFAKETESTKEY00001
//	AWS_SECRET_ACCESS_KEY=fake-secret-access-key-for-tests-only
//	READY
//
// so a script can `eval` (or `export`) the lines before READY. On exit it prints the
// call counters on stderr.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/imagecred/image-credential-provider/test/fake/awsfake"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	lifetime := flag.Duration("token-lifetime", awsfake.DefaultTokenLifetime, "lifetime of ECR and ECR Public tokens")
	password := flag.String("password", "", "answer every token request with this fixed password (default: distinct tokens)")
	delay := flag.Duration("delay", 0, "delay before every ECR and ECR Public answer")
	flag.Parse()

	s, err := awsfake.Listen(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeaws:", err)
		os.Exit(1)
	}
	defer s.Close()
	s.SetTokenLifetime(*lifetime)
	if *password != "" {
		s.SetFixedPassword(*password)
	}
	if *delay > 0 {
		s.SetDelay(awsfake.ECRGetAuthorizationToken, *delay)
		s.SetDelay(awsfake.ECRPublicGetAuthorizationToken, *delay)
	}

	fmt.Printf("URL=%s\n", s.URL)
	for _, kv := range s.Env() {
		fmt.Println(kv)
	}
	fmt.Println("READY")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	for _, op := range awsfake.AllOps {
		fmt.Fprintf(os.Stderr, "fakeaws: %s calls: %d\n", op, s.Calls(op))
	}
}

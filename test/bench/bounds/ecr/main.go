// Command ecr is the least a process that can fetch an ECR token does, through the AWS
// SDK for Go v2: the default configuration (environment, shared files, credential
// chain) and one GetAuthorizationToken call.
//
//	ecr DIR
//
// It reads stdin to the end; if DIR/answer is a non-empty file it writes it to stdout;
// otherwise it calls GetAuthorizationToken in us-east-1 (AWS_ENDPOINT_URL_ECR reaches a
// fake), writes the token to DIR/answer and to stdout. No token decoding, no response
// envelope: every real design does at least this.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ecr:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: ecr DIR")
	}
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		return err
	}
	file := filepath.Join(args[0], "answer")
	if b, err := os.ReadFile(file); err == nil && len(b) > 0 {
		_, err = os.Stdout.Write(b)
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		return err
	}
	out, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return err
	}
	if len(out.AuthorizationData) == 0 || aws.ToString(out.AuthorizationData[0].AuthorizationToken) == "" {
		return fmt.Errorf("no token in the answer")
	}
	tok := aws.ToString(out.AuthorizationData[0].AuthorizationToken)
	if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
		return err
	}
	_, err = io.WriteString(os.Stdout, tok)
	return err
}

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
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/imagecred/image-credential-provider/test/bench/bounds/stored"
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
	if hit, err := stored.Serve(args[0]); hit || err != nil {
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
	return stored.Store(args[0], tok)
}

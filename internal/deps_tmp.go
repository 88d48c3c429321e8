package internal

import (
	_ "cloud.google.com/go/compute/metadata"
	_ "github.com/Azure/azure-sdk-for-go/sdk/azcore"
	_ "github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/credentials"
	_ "github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	_ "github.com/aws/aws-sdk-go-v2/service/ecr"
	_ "github.com/aws/aws-sdk-go-v2/service/ecrpublic"
	_ "github.com/aws/aws-sdk-go-v2/service/sts"
	_ "github.com/distribution/reference"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/random"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "golang.org/x/oauth2/google"
	_ "golang.org/x/oauth2/google/externalaccount"
	_ "golang.org/x/sys/unix"
	_ "k8s.io/klog/v2"
	_ "k8s.io/kubelet/pkg/apis/credentialprovider/v1"
	_ "sigs.k8s.io/yaml"
)

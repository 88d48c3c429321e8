// Package ecr is the Amazon ECR and ECR Public backend's configuration and host tables:
// Config, its flags, validation and drop-in arguments, and Hosts, which says which image
// hosts the backend serves. It links no AWS SDK and no HTTP client, so a process can
// decide whether an image is ECR's without paying for them; package ecrtoken fetches
// the tokens.
//
// # Hosts
//
// Only ECR hosts get ECR tokens: "<account>.dkr.ecr.<region>.<suffix>" in every
// partition, with the dual-stack (dkr-ecr, on.aws) and FIPS (-fips) variants, and ECR
// Public ("public.ecr.aws", "ecr-public.aws.com"); see package ecrhost. A host with a
// port, or a custom domain in front of a registry, is ECR only when Config.Registries
// maps it to a region. Hosts.MatchImages lists all of them as kubelet matchImages
// patterns.
//
// # Service accounts
//
// In service-account-token mode (the kubelet sends the pod's token) the role assumed is
// the one in the service account's RoleAnnotation, else Config.ServiceAccountRoleARN,
// else $AWS_ECR_ROLE_ARN (RoleEnv); without any, the node's credentials, unless
// Config.RequireServiceAccountRole. Package ecrtoken documents the credential chain.
package ecr

// Package ecrtoken fetches Amazon ECR and ECR Public credentials through the AWS SDK:
// the token half of the ECR backend, whose configuration and host tables are package ecr.
//
// # Endpoints
//
// The image host decides the API endpoint through the SDK's own endpoint resolution:
// the client's region is the host's (so its partition: aws, aws-cn, aws-us-gov,
// aws-eusc, the ISO partitions), a FIPS host sets UseFIPSEndpoint, a dual-stack host
// UseDualStackEndpoint. ECR Public is always called in us-east-1, on its dual-stack
// endpoint for the dual-stack host ecr-public.aws.com. STS calls (service account and
// node roles) follow the same region and variants. The SDK's endpoint
// overrides (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_ECR_PUBLIC,
// AWS_ENDPOINT_URL_STS, or endpoint_url in the shared config) win over the variants.
//
// # Credentials
//
// The principal is, in order:
//
//   - in service-account-token mode (the kubelet sent a token), the role named by the
//     service account's eks.amazonaws.com/ecr-role-arn annotation, else
//     ecr.Config.ServiceAccountRoleARN, else $AWS_ECR_ROLE_ARN, assumed with
//     sts:AssumeRoleWithWebIdentity and the pod's token in the registry's region (no
//     AWS_REGION needed); without any role, the node's credentials, unless
//     ecr.Config.RequireServiceAccountRole;
//   - otherwise the node's credentials from the SDK's default chain (environment,
//     shared files and ecr.Config.Profile, web identity, container credentials, EC2
//     instance metadata), then ecr.Config.RoleARN assumed with them if set.
//
// The credential chain's own calls are tried ChainMaxAttempts times, so a node with no
// credentials and no instance metadata fails in about a second instead of the EKS
// plugin's 12 s; ECR, ECR Public and STS calls are retried by the SDK's standard retryer
// (MaxAttempts, MaxBackoff) and the whole call is bounded by Timeout.
//
// # Answer
//
// Username and password are GetAuthorizationToken's token, base64-decoded and split at
// the first colon; the key is the registry host exactly as the image names it;
// cacheKeyType Registry; Result.Expiry is the token's expiresAt, from which the core
// derives the cache lifetime with its safety margin.
//
// New, Serves and CacheIdentity load no SDK configuration and do no I/O: cache hits
// never pay for the SDK.
package ecrtoken

// Package gcr is the Google backend's configuration and host tables: Config, its
// flags, validation and the auth-provider-gcp drop-in arguments, and Hosts, which says
// which image hosts the backend serves (Container Registry gcr.io, Artifact Registry
// *.pkg.dev). It links no Google client library, no OAuth 2.0 library and no HTTP
// client; package gcrtoken fetches the credentials: from the GCE/GKE metadata server, a
// Google credentials file (service-account key, workload identity federation,
// impersonation), the pod's service account token exchanged through STS (workload
// identity), or the docker config in the instance attributes google-dockercfg /
// google-dockercfg-url.
package gcr

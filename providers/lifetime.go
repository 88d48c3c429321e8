package providers

import "time"

// MinSafetyMargin is the least time before a token's expiry at which it stops being
// handed out as fresh.
const MinSafetyMargin = time.Minute

// SafetyMargin is how long before expiry a token issued at issued stops being fresh:
// 10% of its lifetime, at least MinSafetyMargin. A 12 h ECR token is fresh for 10 h 48 m,
// a 1 h Google token for 54 m, a 3 h ACR refresh token for 2 h 42 m.
func SafetyMargin(issued, expiry time.Time) time.Duration {
	m := expiry.Sub(issued) / 10
	if m < MinSafetyMargin {
		m = MinSafetyMargin
	}
	return m
}

// FreshUntil is the instant after which a token issued at issued and expiring at expiry
// must be refreshed rather than served.
func FreshUntil(issued, expiry time.Time) time.Time {
	return expiry.Add(-SafetyMargin(issued, expiry))
}

// Package bounds holds the tests of the lower-bound programs that test/bench/bounds.sh
// times: front, gcp and ecr (see bounds.sh for what each bound stands for).
//
// Each program does the least that any design of the plugin must do on its path, and
// nothing else: no configuration, no logging, no checks, no durable cache format. So
// whatever design is timed against the goals of issue 15, it is at least as slow as the
// matching program here. The tests hold the programs to doing that least for real
// (a token fetched from the fake through the SDK, a stored answer served without an
// upstream call), so that a bound is never low because its program skipped the work.
package bounds

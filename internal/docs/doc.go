// Package docs holds the tests that keep README.md true to the code: every key of the
// plugin's configuration file and every flag of every command is in its configuration
// reference, and nothing there that does not exist; every link and every repository
// path it names exists; it speaks to an operator in the operator's words. It has no
// code of its own.
package docs

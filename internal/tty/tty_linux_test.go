package tty

import "testing"

func TestPseudoTerminal(t *testing.T) {
	master, slave, err := OpenPTY()
	if err != nil {
		t.Fatal("opening a pseudo-terminal:", err)
	}
	defer master.Close()
	defer slave.Close()
	if !IsTerminal(slave) {
		t.Error("a pseudo-terminal is not taken for a terminal")
	}
}

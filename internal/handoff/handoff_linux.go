package handoff

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// run replaces the process image with path; stdin becomes an in-memory file holding
// the request (a pipe when memfd_create is unavailable).
func run(path string, argv, env []string, stdin []byte, keepStdin bool) (int, error) {
	if keepStdin {
		err := syscall.Exec(path, argv, env)
		return 0, fmt.Errorf("cannot run %s: %w", path, err)
	}
	fd, err := stdinFile(stdin)
	if err != nil {
		return 0, fmt.Errorf("cannot pass the request to %s: %w", path, err)
	}
	if fd != 0 {
		if err := unix.Dup3(fd, 0, 0); err != nil {
			unix.Close(fd)
			return 0, fmt.Errorf("cannot pass the request to %s: %w", path, err)
		}
		unix.Close(fd)
	}
	err = syscall.Exec(path, argv, env)
	return 0, fmt.Errorf("cannot run %s: %w", path, err)
}

// stdinFile returns a descriptor positioned at the start of data.
func stdinFile(data []byte) (int, error) {
	if fd, err := unix.MemfdCreate("credential-provider-request", unix.MFD_CLOEXEC); err == nil {
		if err := writeAll(fd, data); err != nil {
			unix.Close(fd)
			return -1, err
		}
		if _, err := unix.Seek(fd, 0, 0); err != nil {
			unix.Close(fd)
			return -1, err
		}
		return fd, nil
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return -1, err
	}
	if len(data) > 64<<10 {
		if _, err := unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, len(data)); err != nil {
			unix.Close(p[0])
			unix.Close(p[1])
			return -1, fmt.Errorf("request of %d bytes does not fit a pipe: %w", len(data), err)
		}
	}
	err := writeAll(p[1], data)
	unix.Close(p[1])
	if err != nil {
		unix.Close(p[0])
		return -1, err
	}
	return p[0], nil
}

func writeAll(fd int, data []byte) error {
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

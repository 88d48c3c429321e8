// Command printversion prints version.Line, for the package's build tests.
package main

import (
	"fmt"

	"github.com/imagecred/image-credential-provider/internal/version"
)

func main() {
	fmt.Println(version.Line("printversion"))
}

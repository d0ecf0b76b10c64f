// Command etcd is the upstream etcd server, compiled from its Go module because no prebuilt binary can
// be downloaded on our machines.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}

// Command kube-apiserver is the upstream kube-apiserver, compiled from the k8s.io/kubernetes module
// because no prebuilt binary can be downloaded on our machines. The blank imports are the ones the
// upstream cmd/kube-apiserver/apiserver.go has, so flags and metrics behave as in a release binary.
package main

import (
	"os"
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}

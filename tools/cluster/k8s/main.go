// Command k8s is kubelet, kube-proxy, kube-scheduler, kube-controller-manager and kube-apiserver in one binary. It
// runs the component named by the name it was started under (a symlink) or, failing that, by its first argument:
//
//	k8s kubelet --config=...   or   ln -s k8s kubelet && ./kubelet --config=...
//
// The blank imports are those of the upstream cmd/<component> mains, so flags and metrics behave as in a release.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	_ "time/tzdata"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

var commands = map[string]func() *cobra.Command{
	"kubelet":                 func() *cobra.Command { return kubelet.NewKubeletCommand(context.Background()) },
	"kube-proxy":              proxy.NewProxyCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-apiserver":          apiserver.NewAPIServerCommand,
}

func main() {
	program := filepath.Base(os.Args[0])
	name := program
	if _, ok := commands[name]; !ok && len(os.Args) > 1 {
		name = os.Args[1]
		// cobra parses os.Args[1:]: drop the component name so it sees only the component's own flags.
		os.Args = append([]string{name}, os.Args[2:]...)
	}
	command, ok := commands[name]
	if !ok {
		names := make([]string, 0, len(commands))
		for known := range commands {
			names = append(names, known)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: %s <component> [flags]; components: %v\n", program, names)
		os.Exit(2)
	}
	os.Exit(cli.Run(command()))
}

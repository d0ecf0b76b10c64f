// Command kstatus computes the kstatus status (the rules Flux's health checks and `kpt live status` use) of every
// object in a JSON list read from stdin (`kubectl get … -o json`), so tests judge our resources by the real rules
// rather than by a re-implementation of them. One JSON object per input item goes to stdout.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kstatus: reading stdin:", err)
		os.Exit(2)
	}
	var list unstructured.UnstructuredList
	if err := list.UnmarshalJSON(input); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus: stdin is not a Kubernetes list:", err)
		os.Exit(2)
	}
	verdicts := []verdict{}
	for i := range list.Items {
		item := &list.Items[i]
		result, err := status.Compute(item)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: %s/%s: %v\n", item.GetKind(), item.GetName(), err)
			os.Exit(1)
		}
		verdicts = append(verdicts, verdict{Kind: item.GetKind(), Name: item.GetName(), Status: result.Status.String(), Message: result.Message})
	}
	if err := json.NewEncoder(os.Stdout).Encode(verdicts); err != nil {
		os.Exit(1)
	}
}

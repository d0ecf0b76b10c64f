// `npm run cluster`: the e2e control plane in the foreground, for a person to point kubectl at.
import { startControlPlane } from '../../test/support/control-plane.js';

const controlPlane = await startControlPlane().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});

const { kubeconfigPath, server, binDir, timings } = controlPlane;
console.log(`kube-apiserver ${server} ready in ${(timings.totalMs / 1000).toFixed(1)} s`);
console.log(`kubeconfig: ${kubeconfigPath}`);
console.log('');
console.log(`  export KUBECONFIG=${kubeconfigPath}`);
console.log(`  export PATH=${binDir}:$PATH   # helm and kubectl matching this cluster`);
console.log('');
console.log('Ctrl-C stops the cluster and deletes its data.');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    controlPlane.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}

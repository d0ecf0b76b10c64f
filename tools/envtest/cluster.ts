// `npm run cluster`: the e2e control plane in the foreground, for a person to point kubectl at.
// `npm run cluster -- --real`: the real one-node cluster (pods run) of tools/cluster/cluster.ts instead; needs root.
import { startControlPlane } from '../../test/support/control-plane.js';
import { startRealCluster } from '../cluster/cluster.js';

const real = process.argv.includes('--real');
const log = (line: string): void => console.log(`  ${line}`);
const controlPlane = await (real ? startRealCluster({ log }) : startControlPlane()).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});

const { kubeconfigPath, server, binDir, timings } = controlPlane;
console.log(`${real ? 'one-node cluster' : 'kube-apiserver'} ${server} ready in ${(timings.totalMs / 1000).toFixed(1)} s`);
console.log(`kubeconfig: ${kubeconfigPath}`);
if ('containerdSocket' in controlPlane) {
  console.log(`component logs: ${controlPlane.runDir}/logs`);
  console.log(`import an image: ctr --address ${controlPlane.containerdSocket} -n k8s.io images import <archive.oci.tar>`);
}
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

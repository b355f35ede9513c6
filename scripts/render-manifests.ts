// `npm run manifests`: rewrites deploy/kubernetes/curt.yaml from the Helm chart (after a chart change).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLAIN, renderPlainManifests } from './k8s-tools.ts';

writeFileSync(join(PLAIN, 'curt.yaml'), await renderPlainManifests());
process.stdout.write('deploy/kubernetes/curt.yaml rendered from deploy/helm/curt\n');

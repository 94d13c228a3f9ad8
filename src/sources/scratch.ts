import { emptyImage } from '../image/image.js';
import type { ResolvedSource, Source } from './source.js';

/** The digest cache keys use for an empty base. */
export const SCRATCH_DIGEST = 'scratch';

/** `FROM scratch`: no layers, an empty config (go-containerregistry's empty.Image). */
export const scratchSource: Source<Record<string, never>> = {
  kind: 'scratch',
  async resolve(): Promise<ResolvedSource> {
    return { image: emptyImage(), digest: SCRATCH_DIGEST };
  },
};

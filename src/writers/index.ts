/**
 * Output types → writer modules. Adding an output = a module in writers/ and one entry here; the build
 * checks every requested type against this table before it starts.
 */
import type { OutputSpec, OutputType } from '../build/outputs.js';
import type { BlobStore } from '../image/blobstore.js';
import type { Image } from '../image/image.js';
import { writeDockerArchive } from './docker.js';
import { writeRootfsTar } from './rootfs.js';

export interface OutputContext {
  store: BlobStore;
  image: Image;
  /** `-t` names, as given. */
  tags: string[];
  /** Absolute destination (file or directory, by type); undefined for `registry`. */
  dest: string | undefined;
  spec: OutputSpec;
  /** SOURCE_DATE_EPOCH. */
  epoch: number;
  /** Runs `use` on a directory holding the image's final tree (materialized on demand). */
  withTree<T>(use: (dir: string) => Promise<T>): Promise<T>;
}

export type OutputWriter = (ctx: OutputContext) => Promise<void>;

export const outputWriters: Partial<Record<OutputType, OutputWriter>> = {
  docker: async (ctx) => {
    await writeDockerArchive(ctx.store, ctx.image, ctx.dest!, { tags: ctx.tags });
  },
  rootfs: async (ctx) => {
    await ctx.withTree((dir) => writeRootfsTar(dir, ctx.dest!, { clampMtime: ctx.epoch }));
  },
};

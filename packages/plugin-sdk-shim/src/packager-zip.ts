// Zip writing and reading for .difypkg files (yazl / yauzl). The daemon reads a package with Go's
// archive/zip: regular files only (a directory entry makes extraction fail), `/` separators, and an
// optional archive comment carrying the signature.
// yazl/yauzl are imported lazily: the plugin runtime bundles this module but never zips anything.
import { createHash } from 'node:crypto';

export interface ZipInput {
  path: string;
  data: Uint8Array;
}

/** Writes entries in the given order, deflated, with a fixed timestamp (same input, same bytes). */
export async function writeZip(entries: ZipInput[], options: { comment?: string; mtime?: Date } = {}): Promise<Buffer> {
  const { ZipFile } = await import('yazl');
  const zip = new ZipFile();
  const mtime = options.mtime ?? new Date('2026-01-01T00:00:00Z');
  for (const entry of entries) {
    zip.addBuffer(Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength), entry.path, {
      mtime,
      mode: 0o100644,
      compress: true,
      forceDosTimestamp: true,
    });
  }
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
  zip.end({ comment: options.comment ?? '', forceZip64Format: false });
  return done;
}

export interface ZipEntryRead {
  path: string;
  isDirectory: boolean;
  compressionMethod: number;
  data: Buffer;
}

export interface ZipRead {
  entries: ZipEntryRead[];
  comment: string;
}

/** Reads every entry in central-directory order (the order the daemon walks and hashes). */
export async function readZip(buffer: Buffer): Promise<ZipRead> {
  const { fromBufferPromise } = await import('yauzl');
  const zip = await fromBufferPromise(buffer, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true });
  const entries: ZipEntryRead[] = [];
  try {
    for await (const entry of zip.eachEntry()) {
      const isDirectory = entry.fileName.endsWith('/');
      let data = Buffer.alloc(0);
      if (!isDirectory) {
        const stream = await zip.openReadStreamPromise(entry);
        const parts: Buffer[] = [];
        for await (const part of stream) parts.push(part as Buffer);
        data = Buffer.concat(parts);
      }
      entries.push({ path: entry.fileName, isDirectory, compressionMethod: entry.compressionMethod, data });
    }
  } finally {
    zip.close();
  }
  return { entries, comment: zip.comment };
}

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

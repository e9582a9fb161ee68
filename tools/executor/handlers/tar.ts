// A minimal ustar archive writer for `docker cp -` (container uploads): regular files
// only, owner root unless given. Keeps upload contents in memory (they may be secret keys).

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function splitPath(p: string): { name: string; prefix: string } {
  if (Buffer.byteLength(p) <= 100) return { name: p, prefix: "" };
  for (let i = p.indexOf("/"); i !== -1; i = p.indexOf("/", i + 1)) {
    const prefix = p.slice(0, i);
    const name = p.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new Error(`upload path too long for a tar header: ${p}`);
}

export interface TarFile {
  /** Path inside the archive (relative, no leading slash). */
  path: string;
  content: Buffer;
  mode: number;
  uid?: number;
  gid?: number;
}

export function tarArchive(files: readonly TarFile[]): Buffer {
  const blocks: Buffer[] = [];
  for (const f of files) {
    const header = Buffer.alloc(512);
    const { name, prefix } = splitPath(f.path.replace(/^\/+/, ""));
    header.write(name, 0, 100, "utf8");
    header.write(octal(f.mode & 0o7777, 8), 100, "ascii");
    header.write(octal(f.uid ?? 0, 8), 108, "ascii");
    header.write(octal(f.gid ?? 0, 8), 116, "ascii");
    header.write(octal(f.content.length, 12), 124, "ascii");
    header.write(octal(Math.floor(Date.now() / 1000), 12), 136, "ascii");
    header.write("        ", 148, "ascii");
    header.write("0", 156, "ascii");
    header.write("ustar\0", 257, "ascii");
    header.write("00", 263, "ascii");
    header.write(prefix, 345, 155, "utf8");
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
    blocks.push(header, f.content);
    const pad = (512 - (f.content.length % 512)) % 512;
    if (pad) blocks.push(Buffer.alloc(pad));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

// Container uploads as the one ustar writer of the project (components/lab's
// uploadArchive, which the lab's VM suite also boots its VMs with): regular files, owner
// root unless given, contents in memory only (they may be secret keys).
import { uploadArchive } from "../../../components/lab";

export interface TarFile {
  /** Path inside the archive (relative, no leading slash). */
  path: string;
  content: Buffer;
  mode: number;
  uid?: number;
  gid?: number;
}

export function tarArchive(files: readonly TarFile[]): Buffer {
  return uploadArchive(
    files.map((f) => ({
      file: `/${f.path.replace(/^\/+/, "")}`,
      content: f.content,
      permissions: (f.mode & 0o7777).toString(8).padStart(4, "0"),
      uid: f.uid,
      gid: f.gid,
    })),
    Math.floor(Date.now() / 1000),
  );
}

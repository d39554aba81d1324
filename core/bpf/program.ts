// Identity of loaded programs: the kernel's id and tag (a hash of the instructions). A restarted
// agent compares tags to decide whether an attached program is already the one it would attach.
import { closeFd, lib } from "./_libbpf.ts";
import { bpfError } from "./errors.ts";

export interface ProgramInfo {
  id: number;
  /** Hex of the kernel's 8-byte program tag. */
  tag: string;
  name: string;
}

/** Reads id, tag and name of the program behind `fd`. */
export function programInfoByFd(fd: number): ProgramInfo {
  // struct bpf_prog_info: type @0, id @4, tag[8] @8, ..., name[16] @64
  const buf = new Uint8Array(232);
  const len = new Uint32Array([buf.length]);
  const ret = lib().bpf.bpf_obj_get_info_by_fd(fd, buf, new Uint8Array(len.buffer));
  if (ret < 0) throw bpfError("reading program info", ret);
  const name = buf.subarray(64, 80);
  const end = name.indexOf(0);
  return {
    id: new DataView(buf.buffer).getUint32(4, true),
    tag: [...buf.subarray(8, 16)].map((b) => b.toString(16).padStart(2, "0")).join(""),
    name: new TextDecoder().decode(name.subarray(0, end < 0 ? 16 : end)),
  };
}

/** Reads the info of a program by its kernel id (e.g. the one a link points to). */
export function programInfoById(id: number): ProgramInfo {
  const fd = lib().bpf.bpf_prog_get_fd_by_id(id);
  if (fd < 0) throw bpfError(`opening program id ${id}`, fd);
  try {
    return programInfoByFd(fd);
  } finally {
    closeFd(fd);
  }
}

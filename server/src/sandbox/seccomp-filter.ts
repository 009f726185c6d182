import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { PYTHON } from "./process-backend.js";

/**
 * System calls a bubblewrap sandbox may not make (EPERM): at least everything Docker's
 * default seccomp profile refuses an unprivileged container. Namespaces (unshare, setns,
 * clone with a CLONE_NEW* flag), mounts and the new mount API, ptrace and reading other
 * processes' memory, the kernel keyring, BPF, perf events, userfaultfd, kexec, modules,
 * io_uring (its own path to most of these), clocks, swap, reboot, quotas, accounting,
 * handle-based opens (the classic container escape), NUMA policy and obsolete calls.
 */
export const BLOCKED_SYSCALLS: readonly string[] = [
  "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "mount_setattr", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
  "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
  "keyctl", "add_key", "request_key",
  "bpf", "perf_event_open", "userfaultfd", "fanotify_init", "lookup_dcookie",
  "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module", "get_kernel_syms", "query_module",
  "io_uring_setup", "io_uring_enter", "io_uring_register",
  "clock_settime", "clock_adjtime", "settimeofday", "adjtimex",
  "swapon", "swapoff", "reboot", "quotactl", "quotactl_fd", "acct", "syslog", "vhangup",
  "open_by_handle_at", "name_to_handle_at",
  "iopl", "ioperm", "mbind", "set_mempolicy", "move_pages", "get_mempolicy",
  "nfsservctl", "uselib", "ustat", "sysfs", "_sysctl", "personality",
];

/** CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET. */
const CLONE_NAMESPACE_FLAGS = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000];

/**
 * Compiles the filter with libseccomp's Python binding (Debian python3-seccomp): the
 * default is to allow, each listed call answers EPERM, clone with a namespace flag answers
 * EPERM, and clone3 answers ENOSYS (its flags live in memory a filter cannot read, and
 * the C library falls back to clone). Calls of another architecture (i386, x32) kill the
 * process: libseccomp's default for a foreign architecture.
 */
const COMPILER = String.raw`
import errno, sys, seccomp
blocked, clone_flags = sys.argv[1].split(","), [int(f) for f in sys.argv[2].split(",")]
f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
for name in blocked:
    try:
        f.add_rule(seccomp.ERRNO(errno.EPERM), name)
    except (RuntimeError, ValueError, OSError):
        pass  # not a system call of this architecture
for flag in clone_flags:
    f.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
f.export_bpf(sys.stdout)
`;

let compiled: Promise<Buffer> | undefined;

/**
 * The filter as BPF, ready for `bwrap --seccomp FD`; compiled once per server process
 * (a few tens of ms) and reused for every sandbox. Rejects with the reason when
 * libseccomp's binding is missing.
 */
export function seccompFilter(): Promise<Buffer> {
  compiled ??= compile().catch((err: unknown) => {
    compiled = undefined;
    throw err;
  });
  return compiled;
}

async function compile(): Promise<Buffer> {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found`);
  try {
    const { stdout } = await promisify(execFile)(PYTHON, ["-c", COMPILER, BLOCKED_SYSCALLS.join(","), CLONE_NAMESPACE_FLAGS.join(",")], { encoding: "buffer", timeout: 30_000 });
    if (stdout.length === 0 || stdout.length % 8 !== 0) throw new Error(`libseccomp produced ${stdout.length} bytes, not a BPF program`);
    return stdout;
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? "");
    if (stderr.includes("No module named 'seccomp'")) throw new Error("libseccomp's Python binding is missing (Debian package python3-seccomp; scripts/setup-system installs it)");
    throw new Error(`the seccomp filter could not be compiled: ${(stderr || (err as Error).message).trim().slice(0, 300)}`);
  }
}

/**
 * The same filter as a Docker seccomp profile (for the engine's SecurityOpt), for the gvisor
 * backend: runsc --oci-seccomp applies it inside gVisor's kernel. Docker's own default
 * profile cannot be used there: it answers clone3 with ENOSYS through errnoRet, which this
 * runsc ignores (EPERM), so the C library never falls back to clone and no command starts.
 * Here clone3 is left to gVisor, which does not implement it (ENOSYS).
 */
export function dockerSeccompProfile(): string {
  const errno = { action: "SCMP_ACT_ERRNO", errnoRet: 1 };
  return JSON.stringify({
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [
      { names: [...BLOCKED_SYSCALLS], ...errno },
      ...CLONE_NAMESPACE_FLAGS.map((flag) => ({ names: ["clone"], ...errno, args: [{ index: 0, value: flag, valueTwo: flag, op: "SCMP_CMP_MASKED_EQ" }] })),
    ],
  });
}

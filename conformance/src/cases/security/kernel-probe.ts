/**
 * The kernel escape battery's probe (SEC-17): a Python program run inside a sandbox that
 * tries, for real, what container escapes start with, and prints one line per attempt:
 * "ATTEMPT <name> SUCCEEDED <detail>" or "ATTEMPT <name> FAILED <why>". Each attempt undoes
 * what it did when it succeeds (a control run on an unisolated sandbox runs on the host).
 * Arguments: disk_bytes, pids, memory_bytes of the sandbox, then optionally the attempts
 * to make (default: all). Used by the suite's SEC-17 case and the reference server's tests.
 */
export const KERNEL_ESCAPE_ATTEMPTS = [
  "user-namespace", "mount", "ptrace-runner", "keyring", "bpf-program", "perf-event", "raw-socket",
  "proc-sys-write", "device-node", "setuid-binary", "disk-past-limit", "fork-past-pids", "memory-past-limit",
] as const;

export const KERNEL_ESCAPE_PROBE = String.raw`
import ctypes, errno, glob, os, signal, socket, subprocess, sys, time
DISK, PIDS, MEMORY = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def check(ret):
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return ret

def attempt(name, fn):
    try:
        print("ATTEMPT", name, "SUCCEEDED", repr(fn())[:200], flush=True)
    except BaseException as e:
        print("ATTEMPT", name, "FAILED", type(e).__name__, str(e)[:120], flush=True)

def user_namespace():
    pid = os.fork()
    if pid == 0:
        os._exit(0 if libc.unshare(0x10000000) == 0 else 1)  # CLONE_NEWUSER
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise PermissionError("unshare(CLONE_NEWUSER) refused")
    return "a new user namespace"

def mount():
    os.makedirs("mnt", exist_ok=True)
    check(libc.mount(b"none", b"mnt", b"tmpfs", 0, None))
    libc.umount2(b"mnt", 2)
    return "tmpfs mounted"

def ptrace_runner():
    for p in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(p, "rb") as f:
                if b"-I\0-S\0-c\0" not in f.read():
                    continue
        except OSError:
            continue
        pid = int(p.split("/")[2])
        check(libc.ptrace(0x4206, pid, None, None))  # PTRACE_SEIZE: attaches without stopping it
        return "seized the runner %d" % pid
    raise LookupError("no tool runner visible")

def keyring():
    return check(libc.syscall(250, 0, -4, 0))  # keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING)

def bpf_program():
    insns = ctypes.create_string_buffer(b"\xb7\0\0\0\0\0\0\0\x95\0\0\0\0\0\0\0")  # r0 = 0; exit
    license = ctypes.create_string_buffer(b"GPL")
    attr = (ctypes.c_uint64 * 16)()
    attr[0] = 1 | (2 << 32)  # prog_type SOCKET_FILTER, insn_cnt 2
    attr[1] = ctypes.addressof(insns)
    attr[2] = ctypes.addressof(license)
    fd = check(libc.syscall(321, 5, ctypes.byref(attr), 128))  # bpf(BPF_PROG_LOAD)
    os.close(fd)
    return "program loaded"

def perf_event():
    attr = (ctypes.c_uint32 * 32)()
    attr[0], attr[1] = 1, 128  # PERF_TYPE_SOFTWARE, size; config 0: cpu clock
    fd = check(libc.syscall(298, ctypes.byref(attr), 0, -1, -1, 0))
    os.close(fd)
    return "event opened"

def raw_socket():
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    return "raw socket"

def proc_sys_write():
    path = "/proc/sys/kernel/hostname"
    with open(path) as f:
        name = f.read()
    with open(path, "w") as f:  # the same value back: nothing changes if it works
        f.write(name)
    return "wrote " + path

def device_node():
    os.mknod("null-device", 0o20600, os.makedev(1, 3))
    os.unlink("null-device")
    return "created a character device"

def setuid_binary():
    def unprivileged():  # the control runs as root; a setuid binary only means something below it
        if os.getuid() == 0:
            os.setgroups([]); os.setgid(65534); os.setuid(65534)
    p = subprocess.Popen(["/usr/bin/su", "root", "-c", "true"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=unprivileged)
    try:
        deadline = time.time() + 5
        while time.time() < deadline and p.poll() is None:
            try:
                with open("/proc/%d/status" % p.pid) as f:
                    fields = dict(l.split(":", 1) for l in f if ":" in l)
            except OSError:
                break
            if fields["Name"].strip() == "su":
                euid = int(fields["Uid"].split()[1])
                if euid == 0:
                    return "su runs with euid 0"
                raise PermissionError("su runs with euid %d" % euid)
            time.sleep(0.01)
        raise PermissionError("su ended without ever running as root")
    finally:
        p.kill()
        p.wait()

def disk_past_limit():
    written, chunk = 0, b"x" * (1 << 20)
    try:
        with open("filler", "wb") as f:
            while written < 2 * DISK:
                f.write(chunk)
                f.flush()
                written += len(chunk)
            os.fsync(f.fileno())
        return "wrote %d bytes, twice disk_bytes" % written
    finally:
        os.unlink("filler")

def fork_past_pids():
    children = []
    try:
        while len(children) < 2 * PIDS:
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            children.append(pid)
        return "%d processes, twice pids" % len(children)
    finally:
        for pid in children:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)

def memory_past_limit():
    code = "b = bytearray(%d); b[::4096] = b'x' * len(b[::4096]); print('touched', len(b))" % (2 * MEMORY)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    if "touched" not in r.stdout:
        raise MemoryError("the allocation ended with %d" % r.returncode)
    return r.stdout.strip()

for name in sys.argv[4:] or ${JSON.stringify(KERNEL_ESCAPE_ATTEMPTS)}:
    attempt(name, globals()[name.replace("-", "_")])
`;

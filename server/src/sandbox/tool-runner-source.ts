/**
 * The tool runner: one long-lived Python process inside each sandbox (started as
 * `python3 -I -S -c <source> <workspace>`). The server talks to it over stdin/stdout in JSON
 * lines, so an Execute costs one process spawn inside the sandbox instead of a
 * `docker exec` or a fresh namespace set-up. File tools run here too, inside the
 * sandbox's namespaces, so a symlink planted by sandboxed code can never make the server
 * read or write a host file.
 *
 * Requests:  {"op":"exec","id","cmd","timeout_ms","max_bytes"} | {"op":"kill","id"}
 *            {"op":"tool","id","name","input","max_bytes"} | {"op":"ping","id"}
 * Replies:   {"ready":true} once; {"id","s":1|2,"d":base64} output chunks (only the first
 *            max_bytes of an execution; the rest is counted, not sent);
 *            {"id","exit","timed_out","total"} when a command ends; {"id","out","err"} for
 *            a file tool; {"id","pong":true}.
 * A command runs as `bash -c` in its own session; at its end (or its timeout, or a kill)
 * the whole process group is SIGKILLed. EOF on stdin ends the runner and everything it
 * started, so a sandbox never outlives a server that is not watching it (docker keeps
 * stdin open across re-attaches).
 * With an argument gateway=<unix socket>@<port> the runner also forwards every TCP
 * connection to 127.0.0.1:<port> inside the sandbox to that socket: the server's gateway
 * for this sandbox (repositories, allowed egress), reached without any network.
 * Python is used because the default image and every host with bubblewrap have it; the
 * source avoids backticks and dollar-brace so it can live in a raw template string.
 */
export const TOOL_RUNNER_SOURCE = String.raw`
import os, sys

# Descriptors the server's process held without close-on-exec (its LevelDB files among
# them) reach this process through the sandbox's start; none may reach a command.
os.closerange(3, os.sysconf("SC_OPEN_MAX"))

WS = os.path.realpath(sys.argv[1])
os.chdir(WS)
# Ready before the heavier imports: they overlap with the server answering Provision.
os.write(1, b'{"ready":true}\n')

import binascii, selectors, time
# The C modules behind signal and json: their Python halves import enum and re (a start
# and one ping took ~77 ms with them and ~44 ms without, 20 runs each).
import _signal as signal

def json_codec():
    # One JSON object a line each way, with the json module's own C scanner and encoder;
    # the json module itself where those are missing or behave otherwise.
    try:
        import _json
        class Context:
            strict = True
            object_hook = None
            object_pairs_hook = None
            parse_float = float
            parse_int = int
            parse_constant = float
            memo = {}
        scan = _json.make_scanner(Context())
        encode = _json.make_encoder(None, None, _json.encode_basestring_ascii, None, ":", ",", False, False, True)
        def loads(line):
            text = line.decode("utf-8").strip()
            value, end = scan(text, 0)
            if end != len(text):
                raise ValueError("extra data after the JSON value")
            return value
        def dumps(obj):
            return "".join(encode(obj, 0))
        sample = {"a": [1, -2.5, "\u00e9\n", True, None, {}]}
        if loads(dumps(sample).encode()) == sample and dumps(sample) == '{"a":[1,-2.5,"\\u00e9\\n",true,null,{}]}':
            return loads, dumps
    except Exception:
        pass
    import json
    return json.loads, lambda obj: json.dumps(obj, separators=(",", ":"))

LOADS, DUMPS = json_codec()

# Not dumpable: commands run as the same user cannot open /proc/<runner>/fd/* to read the
# server's requests or forge replies.
try:
    import ctypes
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
except (ImportError, OSError, AttributeError):
    pass

SEL = selectors.DefaultSelector()
OUT = sys.stdout.buffer
RUNS = {}
ENV = dict(os.environ)
# Raises the command's oom_score_adj to the top (allowed without privileges; inherited by
# everything it starts), then runs it exactly as "bash -c CMD" would.
OOM_FIRST = 'echo 1000 >/proc/self/oom_score_adj 2>/dev/null; exec /bin/bash -c "$1" bash'
LIMIT = [1 << 20]  # Output cap of the file tool being run; grep stops searching past it.

def send(obj):
    OUT.write(DUMPS(obj).encode() + b"\n")
    OUT.flush()

class Run:
    def __init__(self, rid, cmd, timeout_ms, max_bytes):
        self.id = rid
        self.max = max_bytes
        self.total = 0
        self.sent = 0
        self.timed_out = False
        self.exited = None
        self.open = 2
        self.deadline = time.monotonic() + timeout_ms / 1000.0
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            # posix_spawn (vfork-like) in a new session: the command's whole tree is one group.
            # Through sh, which marks the command's tree first in line for the OOM killer:
            # a command that outgrows the sandbox's memory is killed, never this runner.
            self.pid = os.posix_spawn("/bin/sh", ["sh", "-c", OOM_FIRST, "sh", cmd], ENV, setsid=True, file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, out_w, 1),
                (os.POSIX_SPAWN_DUP2, err_w, 2)])
        finally:
            os.close(out_w)
            os.close(err_w)
        self.pidfd = os.pidfd_open(self.pid) if PIDFDS else None
        for fd, s in ((out_r, 1), (err_r, 2)):
            os.set_blocking(fd, False)
            SEL.register(fd, selectors.EVENT_READ, ("out", self, s))
        if self.pidfd is not None:
            SEL.register(self.pidfd, selectors.EVENT_READ, ("exit", self, 0))

    def killgroup(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def on_output(self, fd, s):
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            SEL.unregister(fd)
            os.close(fd)
            self.open -= 1
            self.maybe_done()
            return
        self.total += len(data)
        room = self.max - self.sent
        if room > 0:
            part = data[:room]
            self.sent += len(part)
            send({"id": self.id, "s": s, "d": binascii.b2a_base64(part, newline=False).decode()})

    def on_exit(self, status=None):
        if self.pidfd is not None:
            SEL.unregister(self.pidfd)
            os.close(self.pidfd)
            status = os.waitpid(self.pid, 0)[1]
        self.exited = os.waitstatus_to_exitcode(status)
        # Whatever the command left running in its group ends with it.
        self.killgroup()
        self.maybe_done()

    def maybe_done(self):
        if self.exited is None or self.open > 0:
            return
        RUNS.pop(self.id, None)
        code = -1 if self.timed_out or self.exited < 0 else self.exited
        send({"id": self.id, "exit": code, "timed_out": self.timed_out, "total": self.total})

def inside(path):
    full = os.path.realpath(os.path.join(WS, path or "."))
    if full != WS and not full.startswith(WS + os.sep):
        raise ToolError("path %r is outside the workspace %s" % (path, WS))
    return full

class ToolError(Exception):
    pass

def is_inside(path):
    try:
        inside(path)
        return True
    except ToolError:
        return False

def read_file(i):
    path = inside(i["path"])
    offset = int(i.get("offset", 0))
    limit = int(i.get("limit", 2000))
    if os.path.isdir(path):
        raise ToolError("%s is a directory" % i["path"])
    with open(path, "rb") as f:
        lines = f.read().decode("utf-8", "replace").splitlines(True)
    return "".join(lines[offset:offset + limit])

def write_file(i):
    path = inside(i["path"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = i["content"].encode()
    with open(path, "wb") as f:
        f.write(data)
    return "wrote %d bytes to %s" % (len(data), i["path"])

def edit_file(i):
    path = inside(i["path"])
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    old, new = i["old_string"], i["new_string"]
    n = text.count(old)
    if n == 0:
        raise ToolError("old_string not found in %s" % i["path"])
    if n > 1 and not i.get("replace_all", False):
        raise ToolError("old_string occurs %d times in %s; give more context or set replace_all" % (n, i["path"]))
    text = text.replace(old, new) if i.get("replace_all", False) else text.replace(old, new, 1)
    with open(path, "wb") as f:
        f.write(text.encode())
    return "replaced %d occurrence%s in %s" % (n if i.get("replace_all", False) else 1, "" if n == 1 else "s", i["path"])

def list_files(i):
    path = inside(i.get("path", "."))
    names = []
    for e in sorted(os.scandir(path), key=lambda e: e.name):
        names.append(e.name + ("/" if e.is_dir(follow_symlinks=False) else ""))
    return "\n".join(names)

def glob_files(i):
    import glob as globmod
    base = inside(i.get("path", "."))
    pattern = i["pattern"]
    if pattern.startswith("/") or ".." in pattern.split("/"):
        raise ToolError("pattern must be relative to the workspace and must not contain ..")
    hits = sorted(globmod.glob(pattern, root_dir=base, recursive=True))
    return "\n".join(h for h in hits if is_inside(os.path.join(base, h)))

def grep(i):
    import fnmatch, re
    base = inside(i.get("path", "."))
    try:
        rx = re.compile(i["pattern"])
    except re.error as e:
        raise ToolError("invalid pattern: %s" % e)
    only = i.get("glob")
    out = []
    size = 0
    files = [base] if os.path.isfile(base) else None
    if files is None:
        files = []
        for d, dirs, names in os.walk(base):
            dirs[:] = sorted(x for x in dirs if x != ".git")
            for n in sorted(names):
                files.append(os.path.join(d, n))
    for full in files:
        rel = os.path.relpath(full, WS)
        if only and not (fnmatch.fnmatch(rel, only) or fnmatch.fnmatch(os.path.basename(full), only)):
            continue
        try:
            with open(full, "rb") as f:
                raw = f.read()
        except OSError:
            continue
        if b"\0" in raw[:8192]:
            continue
        for n, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
            if rx.search(line):
                out.append("%s:%d:%s" % (rel, n, line))
                size += len(out[-1]) + 1
        if size > LIMIT[0]:
            break  # Past the output cap: the rest would be cut anyway.
    return "\n".join(out)

TOOLS = {"read_file": read_file, "write_file": write_file, "edit_file": edit_file,
         "list_files": list_files, "glob": glob_files, "grep": grep}

def on_request(req):
    op = req.get("op")
    rid = req.get("id")
    if op == "exec":
        try:
            RUNS[rid] = Run(rid, req["cmd"], req["timeout_ms"], req["max_bytes"])
        except OSError as e:
            msg = ("cannot start the command: %s\n" % e).encode()
            send({"id": rid, "s": 2, "d": binascii.b2a_base64(msg, newline=False).decode()})
            send({"id": rid, "exit": 127, "timed_out": False, "total": len(msg)})
    elif op == "kill":
        r = RUNS.get(rid)
        if r:
            r.timed_out = bool(req.get("timed_out", False))
            r.killgroup()
    elif op == "tool":
        LIMIT[0] = req.get("max_bytes", LIMIT[0])
        try:
            out, err = TOOLS[req["name"]](req["input"]), False
        except ToolError as e:
            out, err = str(e), True
        except (OSError, UnicodeError, ValueError, KeyError) as e:
            out, err = "%s: %s" % (type(e).__name__, e), True
            if getattr(e, "errno", None) == 28:  # ENOSPC
                out = "the sandbox's disk is full (resources.disk_bytes): " + out
        data = out.encode("utf-8", "replace")
        cap = req.get("max_bytes", len(data))
        send({"id": rid, "out": data[:cap].decode("utf-8", "ignore"), "err": err, "total": len(data)})
    elif op == "ping":
        send({"id": rid, "pong": True})

def start_gateway(spec):
    # A thread per direction per connection: blocking copies keep it short, and the
    # runner's own loop never waits on them.
    import socket, threading
    path, port = spec.rsplit("@", 1)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(port)))
    srv.listen(128)

    def copy(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def serve(conn):
        up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            up.connect(path)
        except OSError:
            conn.close()
            up.close()
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        back = threading.Thread(target=copy, args=(up, conn), daemon=True)
        back.start()
        copy(conn, up)
        back.join()
        conn.close()
        up.close()

    def accept():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()

def pidfds_work():
    # gVisor's kernel may not have pidfd_open: exits are then seen through SIGCHLD.
    try:
        os.close(os.pidfd_open(os.getpid()))
        return True
    except (AttributeError, OSError):
        r, w = os.pipe()
        for fd in (r, w):
            os.set_blocking(fd, False)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.set_wakeup_fd(w)
        SEL.register(r, selectors.EVENT_READ, ("chld", None, 0))
        return False

PIDFDS = pidfds_work()

def poll_exits():
    for r in list(RUNS.values()):
        if r.pidfd is None and r.exited is None:
            try:
                pid, status = os.waitpid(r.pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if pid:
                r.on_exit(status)

def reap_orphans():
    # As PID 1 of its namespace the runner inherits every orphan; reap those it does not track.
    tracked = {r.pid for r in RUNS.values()}
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or info.si_pid in tracked:
            return
        try:
            os.waitpid(info.si_pid, 0)
        except ChildProcessError:
            return

def main():
    for arg in sys.argv[2:]:
        if arg.startswith("gateway="):
            start_gateway(arg[len("gateway="):])
    stdin = sys.stdin.buffer.raw
    os.set_blocking(stdin.fileno(), False)
    SEL.register(stdin, selectors.EVENT_READ, ("in", None, 0))
    buf = b""
    while True:
        if not PIDFDS:
            poll_exits()
        reap_orphans()
        now = time.monotonic()
        wait = 1.0
        for r in list(RUNS.values()):
            if r.exited is None and not r.timed_out:
                if r.deadline <= now:
                    r.timed_out = True
                    r.killgroup()
                else:
                    wait = min(wait, r.deadline - now)
        for key, _ in SEL.select(wait):
            kind, run, s = key.data
            if kind == "in":
                try:
                    chunk = os.read(stdin.fileno(), 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    for r in list(RUNS.values()):
                        r.killgroup()
                    return
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        on_request(LOADS(line))
            elif kind == "out":
                run.on_output(key.fileobj, s)
            elif kind == "chld":
                while True:
                    try:
                        if not os.read(key.fileobj, 512):
                            break
                    except BlockingIOError:
                        break
                poll_exits()
            else:
                run.on_exit()

main()
`;

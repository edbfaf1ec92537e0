#!/usr/bin/env python3
"""Runs every ```sh block of README.md, as written, in a fresh copy of the
source tree, and checks that what each block claims to decrypt is decrypted.

The only changes to the text are the ones the README itself allows or that
a shared machine needs:
- `autovideosink` becomes `fakesink silent=false` (the headless variant the
  README names; silent=false lets gst-launch -v report each frame);
- the fixed ports (4222, 5004, 5006) become free ports on 127.0.0.1;
- `tests/run.sh` is not run: it is the command that runs this test.

The blocks run in one bash, in order, like a user's terminal (`KEY` and
`. pipelines/env.sh` carry over). Commands that run until stopped (a
gst-launch-1.0 without num-buffers, or a line ending in `&`) run in the
background; each block's background processes are stopped after the block's
listening time. Every foreground command must exit 0 within its limit, no
gst-launch may report an error, every gst-launch with an sframedec must
deliver at least MIN_FRAMES decoded frames to its sink, and a keymanager
line run with -m must print the room's roster and stats messages.

Usage: test-readme.py SOURCE_DIR [--keep]
"""
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

MIN_FRAMES = 10
FOREGROUND_LIMIT_S = 1200   # a full build on two cores fits well inside
LISTEN_S = {"default": 8, "keymanager": 20}
STOP_GRACE_S = 10
FIXED_PORTS = ("4222", "5004", "5006")


def shell_blocks(readme):
    """The ```sh blocks of README.md, each as a list of commands (comment
    lines dropped, backslash continuations joined)."""
    blocks = re.findall(r"^```sh\n(.*?)^```", readme, re.S | re.M)
    result = []
    for block in blocks:
        commands, current = [], ""
        for line in block.splitlines():
            if not current and line.lstrip().startswith("#"):
                continue
            if line.endswith("\\"):
                current += line[:-1] + " "
                continue
            current += line
            if current.strip():
                commands.append(re.sub(r"\s+", " ", current.strip()))
            current = ""
        result.append(commands)
    return result


def free_ports(count):
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [str(s.getsockname()[1]) for s in socks]
    for s in socks:
        s.close()
    return ports


def headless(command, ports):
    command = command.replace("autovideosink", "fakesink silent=false")
    for fixed, free in ports.items():
        command = re.sub(r"(?<![0-9])%s(?![0-9])" % fixed, free, command)
    return command


def changes_shell_state(command):
    """Assignments and sourcing must run in the shell itself."""
    first = command.split()[0]
    return first in (".", "source", "export", "cd") or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", command)


def runs_until_stopped(command):
    if command.endswith("&"):
        return True
    return command.startswith("gst-launch-1.0") and "num-buffers" not in command


class Runner:
    def __init__(self, workdir, logdir):
        self.workdir = workdir
        self.logdir = logdir
        self.shell = subprocess.Popen(
            ["bash", "--norc", "--noprofile"], cwd=workdir, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            start_new_session=True)
        self.background = []   # (name, pid, log path, command)
        self.started = 0
        self.failures = []
        self.count = 0
        self.send("set -a")   # variables reach the commands run through bash -c

    def send(self, script, limit=60):
        """Runs `script` in the shell; returns (exit status, output)."""
        self.count += 1
        marker = "__readme_done_%d__" % self.count
        self.shell.stdin.write("%s\necho \"%s $?\"\n" % (script, marker))
        self.shell.stdin.flush()
        output = []
        deadline = time.monotonic() + limit
        while True:
            if time.monotonic() > deadline:
                return None, "".join(output)
            line = self.shell.stdout.readline()
            if not line:
                return None, "".join(output)
            if line.startswith(marker):
                return int(line.split()[1]), "".join(output)
            output.append(line)
            if not re.match(r"^\s*\[\d+/\d+\]\s*$", line):   # demo.sh's progress line
                sys.stdout.write("    | " + line)

    def run_foreground(self, command):
        print("  $ " + command, flush=True)
        if changes_shell_state(command):
            status, _ = self.send(command)
        else:
            status, _ = self.send("timeout %d bash -c %s" % (FOREGROUND_LIMIT_S, shlex.quote(command)),
                                  FOREGROUND_LIMIT_S + 30)
        if status != 0:
            self.failures.append("%r exited with %s" % (command, "a timeout" if status in (None, 124) else status))

    def start_background(self, command):
        self.started += 1
        name = "bg%d" % self.started
        log = os.path.join(self.logdir, name + ".log")
        command = command.rstrip("&").strip()
        if command.startswith("gst-launch-1.0"):
            command = "gst-launch-1.0 -v" + command[len("gst-launch-1.0"):]
        print("  $ %s &   (output in %s)" % (command, log), flush=True)
        _, out = self.send("bash -c %s >%s 2>&1 </dev/null & echo \"pid $!\"" %
                           (shlex.quote("exec " + command), shlex.quote(log)))
        pid = int(re.search(r"pid (\d+)", out).group(1))
        self.background.append((name, pid, log, command))

    def stop_background(self):
        for _, pid, _, command in self.background:
            sig = signal.SIGINT if command.startswith("gst-launch-1.0") else signal.SIGTERM
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_GRACE_S
        for name, pid, _, command in self.background:
            while time.monotonic() < deadline and os.path.exists("/proc/%d" % pid) and not is_zombie(pid):
                time.sleep(0.1)
            if os.path.exists("/proc/%d" % pid) and not is_zombie(pid):
                self.failures.append("%r did not stop within %d s of SIGINT" % (command, STOP_GRACE_S))
                os.kill(pid, signal.SIGKILL)
        self.send("wait")

    def check_background(self):
        for name, _, log, command in self.background:
            with open(log, errors="replace") as f:
                text = f.read()
            if not command.startswith("gst-launch-1.0"):
                continue
            errors = [l for l in text.splitlines() if l.startswith("ERROR")]
            if errors:
                self.failures.append("%r: %s" % (command, errors[0]))
            if "keymanager" in command and " -m " in command:
                # The README says -m prints the roster and the stats.
                for message in ("sframe-roster", "sframe-stats"):
                    if "): %s," % message not in text:
                        self.failures.append("%r printed no %s message; log %s" % (command, message, log))
            if "sframedec" in command:
                frames = len(re.findall(r"GstFakeSink:\w+: last-message = chain", text))
                print("  %s: %d decrypted frames reached the sink" % (name, frames))
                if frames < MIN_FRAMES:
                    self.failures.append("%r: %d decrypted frames (at least %d expected); log %s" %
                                         (command, frames, MIN_FRAMES, log))
        self.background = []

    def close(self):
        try:
            os.killpg(self.shell.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.shell.wait()


def is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False


def fresh_copy(source, dest):
    """The tracked and new files of the source tree, nothing built."""
    if os.path.isdir(os.path.join(source, ".git")) and shutil.which("git"):
        names = subprocess.run(["git", "-C", source, "ls-files", "-z", "-c", "-o", "--exclude-standard"],
                               check=True, capture_output=True).stdout.decode().split("\0")
        for name in filter(None, names):
            src = os.path.join(source, name)
            if not os.path.lexists(src):
                continue   # deleted in the working tree
            os.makedirs(os.path.dirname(os.path.join(dest, name)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, name), follow_symlinks=False)
    else:
        shutil.copytree(source, dest, dirs_exist_ok=True, symlinks=True,
                        ignore=shutil.ignore_patterns("build*", ".git"))


def main():
    source = os.path.abspath(sys.argv[1])
    keep = "--keep" in sys.argv
    with open(os.path.join(source, "README.md")) as f:
        blocks = shell_blocks(f.read())
    if not blocks:
        print("README.md has no sh blocks")
        return 1
    top = tempfile.mkdtemp(prefix="sframe-readme-")
    clone, logs = os.path.join(top, "clone"), os.path.join(top, "logs")
    os.makedirs(clone)
    os.makedirs(logs)
    fresh_copy(source, clone)
    ports = dict(zip(FIXED_PORTS, free_ports(len(FIXED_PORTS))))
    env_note = ", ".join("%s -> %s" % kv for kv in ports.items())
    print("README.md: %d sh blocks, run in %s (ports %s)" % (len(blocks), clone, env_note), flush=True)
    runner = Runner(clone, logs)
    try:
        for index, commands in enumerate(blocks, 1):
            print("block %d of %d" % (index, len(blocks)), flush=True)
            if commands == ["tests/run.sh"]:
                print("  (tests/run.sh: the command running this test)")
                continue
            listen = LISTEN_S["keymanager"] if any("keymanager" in c for c in commands) else LISTEN_S["default"]
            for command in commands:
                command = headless(command, ports)
                if runs_until_stopped(command):
                    runner.start_background(command)
                else:
                    runner.run_foreground(command)
            if runner.background:
                time.sleep(listen)
                runner.stop_background()
                runner.check_background()
    finally:
        runner.close()
        if not keep and not runner.failures:
            shutil.rmtree(top, ignore_errors=True)
    for failure in runner.failures:
        print("FAIL: " + failure)
    if runner.failures:
        print("logs kept in " + logs)
        return 1
    print("every README block ran as written")
    return 0


if __name__ == "__main__":
    sys.exit(main())

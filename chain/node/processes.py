"""`chain net up|down|status`: run the nodes of a network directory as detached local processes.

Each DIR/node<i>/node.json is started as its own `chain node run` process in
a new session (so it outlives the shell that started it and a Ctrl-C there),
with stdout and stderr appended to DIR/node<i>/node.log and its pid in
DIR/node<i>/node.pid. `down` sends SIGTERM (the node finishes its block and
closes LevelDB), and SIGKILLs the process group of a node that has not exited
after a timeout. A pid file is trusted only while its process is alive and,
where /proc shows command lines, is the `node run` of that config; otherwise
it is stale and removed.
"""
from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chain
from chain.atomic_file import write_atomic
from chain.node.client import NodeClient, NodeError
from chain.node.config import NodeConfig
from chain.node.protocol import ProtocolError

log = logging.getLogger(__name__)

PID_FILE = "node.pid"
LOG_FILE = "node.log"
_LOG_TAIL = 2_000
_NODE_DIR = re.compile(r"node(\d+)")
_SOURCE_ROOT = Path(chain.__file__).resolve().parent.parent
# Processes started by this interpreter, kept so they are reaped (no zombies) and never reported as "still running".
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class NetProcessError(Exception):
    """Starting, stopping or finding a network's nodes failed; `code` is a stable reason."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class NodeProcess:
    """A running node of the network."""

    name: str
    directory: Path
    config: Path
    pid: int
    host: str
    port: int
    log: Path


@dataclass(frozen=True)
class StopResult:
    """What `down` did to one node: "stopped" (SIGTERM), "killed" (SIGKILL after the timeout) or "not running"."""

    name: str
    pid: int | None
    outcome: str


@dataclass(frozen=True)
class NodeStatus:
    """One node as `status` sees it; `ledgers` holds the node's status answer ([] if it did not answer)."""

    name: str
    directory: Path
    pid: int | None
    alive: bool
    host: str
    port: int
    reachable: bool
    ledgers: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def running(self) -> bool:
        """Alive and answering its status call."""
        return self.alive and self.reachable and self.error is None


def node_directories(directory: str | Path) -> list[Path]:
    """DIR/node<i> directories that hold a node.json, in node order (node2 before node10)."""
    base = Path(directory)
    if not base.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in base.iterdir()
             if (m := _NODE_DIR.fullmatch(p.name)) and (p / "node.json").is_file()]
    return [p for _, p in sorted(found)]


def _nodes(directory: str | Path) -> list[tuple[Path, NodeConfig]]:
    base = Path(directory)
    if not base.is_dir():
        raise NetProcessError(f"{base} does not exist; create a network with `chain net init --dir {base}`", "no_network")
    found = node_directories(base)
    if not found:
        raise NetProcessError(f"{base} holds no node directories (node0/node.json, ...); "
                              f"create a network with `chain net init --dir {base}`", "no_network")
    return [(home, NodeConfig.load(home / "node.json")) for home in found]


def _connect_host(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def _reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((_connect_host(host), port), timeout=timeout):
            return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _CHILDREN[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _is_node_of(pid: int, config: Path) -> bool:
    """Whether pid runs `node run --config <config>` (True where the command line cannot be read)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True
    return b"run" in argv and os.fsencode(str(config)) in argv


def _read_pid(home: Path) -> int | None:
    try:
        text = (home / PID_FILE).read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise NetProcessError(f"cannot read {home / PID_FILE}: {exc}", "pid_file") from None
    return int(text) if text.isdigit() and int(text) > 0 else None


def _running_pid(home: Path) -> int | None:
    """The pid of this node's live process, or None (a stale pid file is removed)."""
    pid = _read_pid(home)
    if pid is None:
        (home / PID_FILE).unlink(missing_ok=True)
        return None
    if _alive(pid) and _is_node_of(pid, (home / "node.json").resolve()):
        return pid
    log.info("%s: removing stale pid file (pid %d is not running)", home.name, pid)
    (home / PID_FILE).unlink(missing_ok=True)
    return None


def _tail(path: Path, start: int = 0) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(max(start, fh.seek(0, os.SEEK_END) - _LOG_TAIL))
            text = fh.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return text or "(the log is empty)"


def node_command(config: Path) -> list[str]:
    """The command line that runs one node (the same invocation as the node process tests)."""
    return [sys.executable, "-m", "chain.cli.main", "node", "run", "--config", str(config)]


def _spawn(home: Path, config: NodeConfig) -> tuple[NodeProcess, int]:
    config_path = (home / "node.json").resolve()
    log_path = home / LOG_FILE
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_SOURCE_ROOT), env.get("PYTHONPATH", "")) if p)
    with open(log_path, "ab") as out:
        offset = out.tell()
        out.write(f"--- chain net up: starting {home.name} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        out.flush()
        proc = subprocess.Popen(node_command(config_path), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=home, env=env, start_new_session=True)
    _CHILDREN[proc.pid] = proc
    write_atomic(home / PID_FILE, f"{proc.pid}\n".encode())
    return NodeProcess(home.name, home, config_path, proc.pid, config.host, config.port, log_path), offset


def up(directory: str | Path, *, timeout: float = 60.0) -> list[NodeProcess]:
    """Start every node of the network that is not running and wait until each accepts client connections.

    Nodes already running are left alone (so `up` after a node crashed restarts
    just that one); if every node runs already, it refuses. If a node exits or
    does not open its port within `timeout` seconds, the nodes started by this
    call are stopped again and the error quotes that node's log.
    """
    everything = _nodes(directory)
    running = [(home.name, pid) for home, _ in everything if (pid := _running_pid(home)) is not None]
    if len(running) == len(everything):
        listed = ", ".join(f"{name} (pid {pid})" for name, pid in running)
        raise NetProcessError(f"already running: {listed}; stop the network with `chain net down --dir {directory}` first",
                              "already_running")
    names = {name for name, _ in running}
    nodes = [(home, config) for home, config in everything if home.name not in names]
    for home, config in nodes:
        if _reachable(config.host, config.port, timeout=0.2):
            raise NetProcessError(f"{home.name}: port {config.port} on {config.host} is already in use by another process",
                                  "port_in_use")
    started: list[tuple[NodeProcess, int]] = []
    try:
        for home, config in nodes:
            started.append(_spawn(home, config))
        _wait_ready(started, timeout)
    except BaseException:
        _stop([(p.directory, p.pid) for p, _ in started], timeout=10.0)
        raise
    return [p for p, _ in started]


def _wait_ready(started: list[tuple[NodeProcess, int]], timeout: float) -> None:
    waiting = list(started)
    deadline = time.monotonic() + timeout
    while waiting:
        for proc, offset in list(waiting):
            child = _CHILDREN.get(proc.pid)
            code = child.poll() if child is not None else None
            if code is not None or (child is None and not _alive(proc.pid)):
                raise NetProcessError(f"{proc.name} exited during start-up (exit code {code}); "
                                      f"last lines of {proc.log}:\n{_tail(proc.log, offset)}", "start_failed")
            if _reachable(proc.host, proc.port, timeout=0.5):
                waiting.remove((proc, offset))
        if not waiting:
            return
        if time.monotonic() > deadline:
            proc, offset = waiting[0]
            raise NetProcessError(f"{proc.name} did not open {proc.host}:{proc.port} within {timeout:g} s; "
                                  f"last lines of {proc.log}:\n{_tail(proc.log, offset)}", "start_timeout")
        time.sleep(0.1)


def _stop(targets: list[tuple[Path, int]], timeout: float) -> dict[int, str]:
    """SIGTERM every pid, wait up to timeout, then SIGKILL the process groups left; pid -> outcome."""
    outcome: dict[int, str] = {}
    for _, pid in targets:
        try:
            os.kill(pid, signal.SIGTERM)
            outcome[pid] = "stopped"
        except ProcessLookupError:
            outcome[pid] = "not running"
    deadline = time.monotonic() + timeout
    left = [pid for _, pid in targets if outcome[pid] == "stopped"]
    while left and time.monotonic() < deadline:
        left = [pid for pid in left if _alive(pid)]
        if left:
            time.sleep(0.05)
    for pid in left:
        log.warning("pid %d did not stop within %g s after SIGTERM; sending SIGKILL", pid, timeout)
        try:
            os.killpg(pid, signal.SIGKILL)  # the node leads its session's group: its worker processes go too
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        outcome[pid] = "killed"
    for pid in left:
        end = time.monotonic() + 5.0
        while _alive(pid) and time.monotonic() < end:
            time.sleep(0.05)
    for home, pid in targets:
        _CHILDREN.pop(pid, None)
        if _read_pid(home) == pid:
            (home / PID_FILE).unlink(missing_ok=True)
    return outcome


def down(directory: str | Path, *, timeout: float = 30.0) -> list[StopResult]:
    """Stop every running node (SIGTERM, then SIGKILL after `timeout` seconds) and remove the pid files."""
    nodes = _nodes(directory)
    targets = [(home, pid) for home, _ in nodes if (pid := _running_pid(home)) is not None]
    outcome = _stop(targets, timeout)
    pids = dict(targets)
    results = []
    for home, _ in nodes:
        pid = pids.get(home)
        results.append(StopResult(home.name, pid, "not running" if pid is None else outcome[pid]))
    return results


def status(directory: str | Path, *, timeout: float = 5.0) -> list[NodeStatus]:
    """Per node: is its process alive, does its client port answer, and (if so) its ledgers' status."""
    result = []
    for home, config in _nodes(directory):
        pid = _read_pid(home)
        alive = pid is not None and _alive(pid) and _is_node_of(pid, (home / "node.json").resolve())
        reachable = _reachable(config.host, config.port)
        ledgers: list[dict[str, Any]] = []
        error = None
        if reachable:
            try:
                with NodeClient(_connect_host(config.host), config.port, timeout=timeout) as client:
                    ledgers = list(client.call("status")["ledgers"])
            except (OSError, NodeError, ProtocolError, KeyError, TypeError) as exc:
                error = f"the status call failed: {exc}"
        elif alive:
            error = "the process is alive but its client port does not answer (starting, or stuck?)"
        result.append(NodeStatus(home.name, home, pid if alive else None, alive, config.host, config.port, reachable,
                                 ledgers, error))
    return result

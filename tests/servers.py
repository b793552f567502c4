"""Real gunicorn processes for tests: started on a free loopback port, polled until they answer,
always stopped; plain HTTP through the standard library; a Redis database emptied over its own
protocol (no client library needed)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kidrate.config import PROJECT_ROOT

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
KIDRATE = str(Path(sys.executable).with_name("kidrate"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environment(**kidrate: str) -> dict[str, str]:
    """The test's environment without any KIDRATE_* of its own, plus the given settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIDRATE_")}
    return {**env, **kidrate}


def run_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([KIDRATE, *args], env=env,  # noqa: S603 - our own command, the test's arguments
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"kidrate {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def start_gunicorn(env: dict[str, str], log: Path, workers: int = 1, threads: int = 4,
                   port: int | None = None) -> Server:
    """gunicorn with the production settings (kidrate/gunicorn_conf.py) in a process group of its own, on
    the given port or a free one. Its output goes to a file: a pipe nobody reads would fill up and stall it."""
    port = port or free_port()
    env = {**env, "KIDRATE_BIND": f"127.0.0.1:{port}", "KIDRATE_WORKERS": str(workers),
           "KIDRATE_THREADS": str(threads)}
    with log.open("wb") as out:
        process = subprocess.Popen([GUNICORN, "-c", "kidrate/gunicorn_conf.py", "--no-control-socket",  # noqa: S603
                                    "kidrate:create_app()"],
                                   cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return Server(process, port, log)


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    """Poll a static file (no database, no rate limit) until the server answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            if request(server.port, "GET", "/static/css/child.css", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"gunicorn on port {server.port} not ready after {timeout} s:\n{server.log_tail()}")


def stop(*servers: Server) -> None:
    """SIGQUIT to each gunicorn master (a quick shutdown: it stops its workers at once, no grace period
    to wait out), SIGKILL to the process group of any that lingers."""
    running = [s for s in servers if s.process.poll() is None]
    for server in running:
        server.process.send_signal(signal.SIGQUIT)
    for server in running:
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=15)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            timeout: float = 30) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
    finally:
        conn.close()


# --- Redis -------------------------------------------------------------------------------------------


def _redis_command(sock: socket.socket, *parts: str) -> bytes:
    encoded = [p.encode() for p in parts]
    sock.sendall(b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in encoded))
    reply = sock.recv(1024)
    if not reply.startswith(b"+"):
        raise OSError(f"redis: {reply!r}")
    return reply


def redis_flush(url: str) -> None:
    """Empty the one Redis database the URL names (redis://host:port/n), nothing else."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=3) as sock:
        _redis_command(sock, "SELECT", parts.path.strip("/") or "0")
        _redis_command(sock, "FLUSHDB")


def redis_unreachable(url: str) -> str | None:
    try:
        redis_flush(url)
    except OSError as error:
        return f"Redis not reachable at {url}: {error}"
    return None

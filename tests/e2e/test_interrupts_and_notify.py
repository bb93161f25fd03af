# SPDX-License-Identifier: MIT
"""Ctrl-C on `prisn run`, systemd readiness notification, and binary secret files."""
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import PRISN, pid_alive, wait_until


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_ctrl_c_on_run_cancels_the_execution(prisnd, scripts, tmp_path, sig):
    """Ctrl-C (or SIGTERM, or SIGHUP from a closed terminal) cancels the run; prisn exits as a
    shell reports it: 130, 143 or 129."""
    pidfile = tmp_path / "pid"
    f = scripts("long.sh", f"echo $$ > {pidfile}; echo started; sleep 300\n")
    env = dict(os.environ, PRISN_SERVER=prisnd.api)
    p = subprocess.Popen([PRISN, "run", f], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), message="script started")
        workload = int(pidfile.read_text())
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 128 + sig
    assert "started" in out
    assert "cancelling execution ex-" in err
    e = prisnd.get("/api/v1/executions").json()["items"][0]
    assert e["status"] == "Failed" and e["error"] == "cancelled"
    wait_until(lambda: not pid_alive(workload), 5, message="the script to be gone")


@pytest.mark.parametrize("how", ["run", "trigger --wait"])
def test_a_closed_stdout_cancels_the_run(prisnd, scripts, how):
    """`prisn run endless.py | head -2`: once head has gone, the run ends too, as a process
    writing to a closed pipe does, and prisn exits 141 (SIGPIPE)."""
    f = scripts("endless.py", "import time\nn = 0\nwhile True:\n    print('line', n, flush=True)\n"
                              "    n += 1\n    time.sleep(0.01)\n")
    if how == "run":
        cmd = f"{PRISN} run {f}"
    else:
        prisnd.cli("deploy", f, "--name", "endless", check=True)
        cmd = f"{PRISN} trigger endless --wait"
    env = dict(os.environ, PRISN_SERVER=prisnd.api)
    p = subprocess.run(["bash", "-c", cmd + " | head -3; exit ${PIPESTATUS[0]}"], capture_output=True, text=True,
                       env=env, timeout=30)
    assert p.returncode == 141, (p.returncode, p.stdout, p.stderr)
    assert "line 1" in p.stdout and "cancelling execution" in p.stderr, (p.stdout, p.stderr)
    ended = lambda: (lambda e: e if e["status"] == "Failed" else None)(prisnd.get("/api/v1/executions?limit=1").json()["items"][0])
    e = wait_until(ended, 15, message="the run cancelled")
    assert e["error"] == "cancelled", e


def test_sd_notify_ready_once_listening(daemon_factory, tmp_path):
    sock_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(20)
    try:
        d = daemon_factory(env=dict(os.environ, NOTIFY_SOCKET=sock_path), start=False)
        d.start(wait=False)
        assert sock.recv(256) == b"READY=1"
        wait_until(lambda: (d.data_dir / "listen.json").exists(), message="listen.json")
        d.proc.send_signal(signal.SIGTERM)
        assert sock.recv(256) == b"STOPPING=1"
        assert d.proc.wait(30) == 0
    finally:
        sock.close()


def test_binary_secret_file_is_byte_exact(prisnd, scripts, tmp_path):
    # Every byte but NUL, which no environment variable can carry (a secret holding one fails
    # the run: test_secrets_jobs.py).
    blob = bytes(range(1, 256)) * 4
    src = tmp_path / "blob.bin"
    src.write_bytes(blob)
    assert prisnd.cli("secret", "create", "bin", "--from-file", f"data={src}").returncode == 0
    assert prisnd.get("/api/v1/secrets/bin").json()["keys"] == ["data"]
    out = tmp_path / "copy.bin"
    job = scripts("dump.py", f"import os\nopen({str(out)!r}, 'wb').write(os.environb[b'BLOB'])\n")
    r = prisnd.put("/api/v1/deployments/dump", {"source": open(job).read(), "filename": "dump.py",
                                                 "secrets": [{"secret": "bin", "env": "BLOB"}]})
    assert r.status_code == 201
    e = prisnd.wait_execution(prisnd.post("/api/v1/executions", {"deployment_id": "dump"}).json()["id"])
    assert e["status"] == "Completed", e
    assert out.read_bytes() == blob
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    assert prisnd.cli("secret", "create", "latin", "--from-file", f"text={latin1}").returncode == 0
    out2 = tmp_path / "copy2.bin"
    job2 = scripts("dump2.py", f"import os\nopen({str(out2)!r}, 'wb').write(os.environb[b'TEXT'])\n")
    prisnd.put("/api/v1/deployments/dump2", {"source": open(job2).read(), "filename": "dump2.py",
                                             "secrets": [{"secret": "latin", "env": "TEXT"}]})
    e = prisnd.wait_execution(prisnd.post("/api/v1/executions", {"deployment_id": "dump2"}).json()["id"])
    assert e["status"] == "Completed", e
    assert out2.read_bytes() == latin1.read_bytes()

# SPDX-License-Identifier: MIT
"""prisn run and POST /executions from source: output, exit codes, env, timeouts (SPEC §5, §6)."""
import os
import re
import socket
import time

from conftest import wait_until


def test_run_streams_output_and_exits_with_script_code(prisnd, scripts):
    f = scripts("hello.py", "import sys\nprint('hello', sys.argv[1:])\nprint('oops', file=sys.stderr)\nsys.exit(3)\n")
    p = prisnd.cli("run", f, "--", "a", "b")
    assert p.returncode == 3
    assert "hello ['a', 'b']" in p.stdout
    assert "oops" in p.stdout


def test_run_success_and_env(prisnd, scripts):
    f = scripts("env.py", "import os\nfor k in ['GREETING','PRISN_NAMESPACE','PRISN_EXECUTION_ID','PRISN_API']:\n    print(k, os.environ.get(k))\n")
    p = prisnd.cli("run", "-e", "GREETING=hi there", f)
    assert p.returncode == 0, p.stderr
    assert "GREETING hi there" in p.stdout
    assert "PRISN_NAMESPACE default" in p.stdout
    assert "PRISN_EXECUTION_ID ex-" in p.stdout
    assert f"PRISN_API {prisnd.api}" in p.stdout
    # PWD names the run's own working directory, not prisnd's.
    f = scripts("pwd.py", "import os\nprint(os.environ.get('PWD') == os.getcwd(), 'OLDPWD' in os.environ)\n")
    p = prisnd.cli("run", f)
    assert p.returncode == 0 and p.stdout == "True False\n", (p.stdout, p.stderr)


def test_options_after_file(prisnd, scripts):
    f = scripts("opts.sh", "echo \"$X $1\"\n")
    p = prisnd.cli("run", f, "-e", "X=after", "--", "arg")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "after arg"


def test_detach_prints_id_and_execution_completes(prisnd, scripts):
    f = scripts("bg.sh", "sleep 0.3; echo background done\n")
    p = prisnd.cli("run", "--detach", f)
    assert p.returncode == 0
    exec_id = p.stdout.strip()
    assert exec_id.startswith("ex-")
    e = prisnd.wait_execution(exec_id)
    assert e["status"] == "Completed" and e["exit_code"] == 0
    assert e["trigger"] == "cli"
    assert prisnd.get(f"/api/v1/executions/{exec_id}/logs").text == "background done\n"
    assert prisnd.cli("logs", exec_id).stdout == "background done\n"


def test_timeout_kills_and_exits_124(prisnd, scripts):
    f = scripts("slow.sh", "echo start\nsleep 30\necho never\n")
    started = time.monotonic()
    p = prisnd.cli("run", "--timeout", "1s", f)
    assert p.returncode == 124
    assert time.monotonic() - started < 15
    assert "start" in p.stdout and "never" not in p.stdout
    e = prisnd.get("/api/v1/executions").json()["items"][0]
    assert e["status"] == "Failed"
    assert e["error"].startswith("timeout")


def test_signal_exit_is_128_plus_n(prisnd, scripts):
    f = scripts("sig.sh", "kill -9 $$\n")
    p = prisnd.cli("run", f)
    assert p.returncode == 128 + 9


def test_runtimes_detected_by_shebang_and_extension(prisnd, scripts):
    assert prisnd.cli("run", scripts("x.sh", "echo bash $BASH_VERSION | cut -c1-4\n")).stdout == "bash\n"
    assert prisnd.cli("run", scripts("noext", "#!/usr/bin/env python3\nprint('py')\n")).stdout == "py\n"
    assert prisnd.cli("run", scripts("x.js", "console.log('js')\n")).stdout == "js\n"
    assert prisnd.cli("run", scripts("x.pl", "print \"pl\\n\";\n")).stdout == "pl\n"
    assert prisnd.cli("run", "--runtime", "sh", scripts("plain.txt", "echo sh\n")).stdout == "sh\n"


def test_the_shebangs_options_reach_the_interpreter(prisnd, scripts):
    # As when the script is run directly: set -e stops at the first failure.
    p = prisnd.cli("run", scripts("strict", "#!/bin/bash -e\nfalse\necho not reached\n"))
    assert p.returncode == 1 and "not reached" not in p.stdout, (p.returncode, p.stdout)
    p = prisnd.cli("run", scripts("optimised", "#!/usr/bin/env -S python3 -O\nassert False\nprint('asserts off')\n"))
    assert p.returncode == 0 and p.stdout == "asserts off\n", (p.stdout, p.stderr)
    # A shebang naming a program prisn does not run is refused, naming it, whatever the extension.
    p = prisnd.cli("run", scripts("old.py", "#!/usr/bin/env python2\nprint 'py2'\n"))
    assert p.returncode == 1 and "'python2'" in p.stderr, (p.returncode, p.stderr)


def test_missing_interpreter_is_a_failed_execution(prisnd, scripts):
    r = prisnd.post("/api/v1/executions", {"source": "puts 1", "runtime": "ruby"})
    assert r.status_code == 201
    e = prisnd.wait_execution(r.json()["id"])
    if e["status"] == "Completed":  # ruby happens to be installed here
        return
    assert e["status"] == "Failed"
    assert "not found on PATH" in e["error"]
    p = prisnd.cli("run", scripts("x.rb", "puts 1\n"))
    assert p.returncode == 1
    assert re.match(r"prisn: execution ex-[0-9a-f]+ failed: runtime ruby: interpreter 'ruby' not found on PATH", p.stderr), p.stderr


def test_an_interpreter_that_cannot_be_executed_is_a_failed_execution_saying_why(daemon_factory, tmp_path):
    """An exec that fails is the run's error, not an "exit code 127" that hides the cause."""
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "ruby").write_bytes(b"\x01\x02 not a program\n")
    (fake / "ruby").chmod(0o755)
    d = daemon_factory(env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"})
    r = d.post("/api/v1/executions", {"source": "puts 1", "runtime": "ruby"})
    assert r.status_code == 201, r.text
    e = d.wait_execution(r.json()["id"])
    assert e["status"] == "Failed" and e["error"] == f"cannot start {fake}/ruby: Exec format error", e


def test_api_run_arbitrary_code_like_the_seed(prisnd):
    r = prisnd.post("/api/v1/executions", {"source": "print('hello')", "runtime": "python3"})
    assert r.status_code == 201
    body = r.json()
    assert body["id"].startswith("ex-") and body["status"] in ("Pending", "Running", "Completed")
    e = prisnd.wait_execution(body["id"])
    assert e["status"] == "Completed" and e["exit_code"] == 0 and e["trigger"] == "api"
    assert e["duration_ms"] >= 0 and e["started_at"] and e["completed_at"]
    assert prisnd.get(f"/api/v1/executions/{body['id']}/logs").text == "hello\n"


def test_follow_logs_streams_until_the_end(prisnd):
    src = "import time\nfor i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(0.3)\n"
    exec_id = prisnd.post("/api/v1/executions", {"source": src, "runtime": "python3"}).json()["id"]
    with prisnd.get(f"/api/v1/executions/{exec_id}/logs?follow=true", stream=True, timeout=20) as r:
        assert r.status_code == 200
        text = b"".join(r.iter_content(None)).decode()
    assert text == "tick 0\ntick 1\ntick 2\n"


def test_a_followed_log_over_http_1_0_is_the_bytes_then_the_close(prisnd):
    """An HTTP/1.0 client knows no chunked encoding: it gets the output as written, the end of
    the body is the close, and no trailer."""
    exec_id = prisnd.post("/api/v1/executions", {"source": "echo one; sleep 0.3; printf two", "runtime": "bash"}).json()["id"]
    host, port = prisnd.api.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"GET /api/v1/executions/{exec_id}/logs?follow=true HTTP/1.0\r\n\r\n".encode())
        got = b""
        while chunk := s.recv(65536):
            got += chunk
    head, body = got.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.0 200") and b"chunked" not in head.lower() and b"trailer" not in head.lower(), head
    assert body == b"one\ntwo", body


def test_cancel_kills_every_descendant(prisnd, tmp_path):
    marker = tmp_path / "pids"
    src = f"(sleep 300 & echo $! >> {marker}; setsid sleep 300 & echo $! >> {marker}; wait) & echo $! >> {marker}; sleep 300\n"
    exec_id = prisnd.post("/api/v1/executions", {"source": src, "runtime": "bash"}).json()["id"]
    wait_until(lambda: marker.exists() and len(marker.read_text().split()) >= 3, message="children started")
    pids = [int(x) for x in marker.read_text().split()]
    r = prisnd.post(f"/api/v1/executions/{exec_id}/cancel")
    assert r.status_code == 202
    e = prisnd.wait_execution(exec_id, timeout=20)
    assert e["status"] == "Failed" and e["error"] == "cancelled"
    from conftest import pid_alive
    wait_until(lambda: not any(pid_alive(p) for p in pids), 5, message="descendants to be gone")
    assert prisnd.post(f"/api/v1/executions/{exec_id}/cancel").status_code == 409


def test_cancel_after_a_crash_kills_every_descendant_of_a_jobs_run(prisnd, tmp_path):
    """A deployment's runs live in its group's cgroups; the next prisnd finds them there."""
    marker = tmp_path / "pids"
    src = f"setsid sleep 300 & echo $! >> {marker}; sleep 300\n"
    r = prisnd.post("/api/v1/deployments", {"name": "sleeper", "type": "job", "filename": "s.sh", "source": src})
    assert r.status_code == 201, r.text
    exec_id = prisnd.post("/api/v1/executions", {"deployment_id": "sleeper"}).json()["id"]
    wait_until(lambda: marker.exists() and marker.read_text().strip(), message="the detached child to start")
    child = int(marker.read_text())
    prisnd.kill9()
    prisnd.start()
    assert prisnd.post(f"/api/v1/executions/{exec_id}/cancel").status_code == 202
    assert prisnd.wait_execution(exec_id, timeout=20)["error"] == "cancelled"
    from conftest import pid_alive
    wait_until(lambda: not pid_alive(child), 5, message="the detached child to be gone")


def test_executions_list_filters_and_order(prisnd):
    ids = []
    for code in (0, 1, 0):
        ids.append(prisnd.post("/api/v1/executions", {"source": f"exit {code}", "runtime": "bash"}).json()["id"])
        time.sleep(0.01)
    for i in ids:
        prisnd.wait_execution(i)
    items = prisnd.get("/api/v1/executions").json()["items"]
    assert [e["id"] for e in items[:3]] == list(reversed(ids))
    failed = prisnd.get("/api/v1/executions?status=Failed").json()["items"]
    assert [e["id"] for e in failed] == [ids[1]]
    assert len(prisnd.get("/api/v1/executions?limit=2").json()["items"]) == 2
    assert prisnd.get("/api/v1/executions/ex-doesnotexist").status_code == 404


def test_a_log_is_capped_with_a_marker_however_fast_it_is_written(daemon_factory, scripts, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("supervisor:\n  logMaxBytes: 65536\n")
    d = daemon_factory(extra_args=["--config", str(config)])
    f = scripts("burst.py", "import sys\nsys.stdout.write(''.join(f'line {i}\\n' for i in range(200000)))\n")
    p = d.cli("run", "--detach", f)
    assert p.returncode == 0, p.stderr
    exec_id = p.stdout.strip()
    assert d.wait_execution(exec_id)["status"] == "Completed"
    text = d.cli("logs", exec_id).stdout
    marker, _, kept = text.partition("\n")
    assert "bytes of earlier output were dropped" in marker, text[:200]
    dropped = int(marker.split()[1])
    assert 65536 // 2 - 20 <= len(kept) <= 65536, len(kept)  # a burst keeps the backup's half of the cap
    assert dropped + len(kept) == sum(len(f"line {i}\n") for i in range(200000))
    lines = kept.splitlines()
    assert lines[-1] == "line 199999" and lines[0].startswith("line ")  # the newest lines, whole
    on_disk = sum(p.stat().st_size for p in (d.data_dir / "logs").rglob(f"{exec_id}.log*") if not p.name.endswith((".idx", ".dropped")))
    assert on_disk <= 65536


def test_run_has_an_empty_prisn_deployment_and_a_job_its_name(prisnd, scripts):
    src = "import os\nprint(repr(os.environ.get('PRISN_DEPLOYMENT')))\n"
    p = prisnd.cli("run", scripts("dep.py", src))
    assert p.returncode == 0, p.stderr
    assert p.stdout == "''\n"  # present (SPEC §6.2: every process gets it) but empty: no deployment
    r = prisnd.post("/api/v1/deployments", {"name": "depjob", "runtime": "python3", "source": src})
    assert r.status_code == 201, r.text
    exec_id = prisnd.cli("trigger", "depjob", check=True).stdout.strip()
    assert prisnd.wait_execution(exec_id)["status"] == "Completed"
    assert prisnd.get(f"/api/v1/executions/{exec_id}/logs").text == "'depjob'\n"


def test_run_streams_output_beyond_the_log_cap_whole(prisnd, scripts):
    n = 200000
    cap = 10 * 1024 * 1024
    # 65-byte lines, 13 MB in all: more than the 10 MiB cap. Written fast (65 KB every 5 ms at
    # most), not as fast as python can: a reader more than 8 MiB behind loses what it did not
    # read (with a marker), and on a loaded machine an unpaced writer gets that far ahead.
    src = ("import sys, time\n"
           f"for start in range(0, {n}, 1000):\n"
           "    sys.stdout.write(''.join(f'{i:08d} ' + 'x' * 55 + '\\n' for i in range(start, start + 1000)))\n"
           "    sys.stdout.flush()\n"
           "    time.sleep(0.005)\n")
    line = lambda i: f"{i:08d} " + "x" * 55
    assert len(line(0)) + 1 == 65
    p = prisnd.cli("run", scripts("big.py", src), timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    lines = p.stdout.split("\n")
    assert lines[-1] == "", lines[-1][:200]
    lines.pop()
    for i, l in enumerate(lines):
        if l != line(i):  # report the first gap, not a 13 MB diff
            raise AssertionError(f"{len(lines)} lines streamed; line {i} is {l[:100]!r}, expected {line(i)[:20]!r}...")
    count = len(lines)
    assert count == n, f"{count} lines streamed, expected {n}"

    e = prisnd.get("/api/v1/executions?limit=1").json()["items"][0]
    assert e["status"] == "Completed", e
    r = prisnd.get(f"/api/v1/executions/{e['id']}/logs", timeout=30)
    assert r.status_code == 200
    text = r.text
    marker, _, kept = text.partition("\n")
    assert marker.startswith("[prisn] "), marker[:200]
    assert len(kept.encode()) <= cap, len(kept.encode())
    assert kept.endswith(line(n - 1) + "\n"), kept[-200:]
    kept_lines = kept.splitlines()
    first = int(kept_lines[0].split()[0])  # the kept part is whole lines, in order, to the end
    assert kept_lines == [line(i) for i in range(first, n)], "kept log is not a contiguous tail"
    r = prisnd.get(f"/api/v1/executions/{e['id']}/logs?tail=3", timeout=30)
    assert r.status_code == 200
    assert r.text == "".join(line(i) + "\n" for i in range(n - 3, n)), r.text[:500]

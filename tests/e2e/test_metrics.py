# SPDX-License-Identifier: MIT
"""GET /metrics: Prometheus text exposition (SPEC §4, §8), parsed strictly."""
import math
import re

import requests

from conftest import HTTP_SERVICE, free_port, wait_until

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
VALUE = r"(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|NaN|[+-]Inf)"
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*,?)?\}})? ({VALUE})(?: -?\d+)?$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
HELP = re.compile(rf"^# HELP ({NAME}) .*$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[: -len(suffix)]) in ("histogram", "summary"):
            return name[: -len(suffix)]
    return name


def parse(text, grouping=True):
    """Strict parse: returns (types, samples) with samples as [(name, labels, value)].
    `grouping`: also require each family's lines to form one group (HELP/TYPE, then its samples)."""
    assert text.endswith("\n"), "exposition must end with a newline"
    types, helps, samples, seen_series = {}, {}, [], set()
    finished, current = set(), None   # every family's lines are one contiguous group
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            m = HELP.match(line) or TYPE.match(line)
            if not m:
                assert re.match(r"^#( |$)", line) and not line.startswith("# HELP") and not line.startswith("# TYPE"), \
                    f"line {n}: bad comment {line!r}"
                continue
            fam = m.group(1)
            if line.startswith("# TYPE"):
                assert fam not in types, f"line {n}: second TYPE for {fam}"
                types[fam] = m.group(2)
            else:
                assert fam not in helps, f"line {n}: second HELP for {fam}"
                helps[fam] = True
            assert not grouping or fam not in finished, f"line {n}: {fam} is declared again after its group ended"
            if current != fam and current is not None:
                finished.add(current)
            assert not any(s[0] == fam or family_of(s[0], types) == fam for s in samples), \
                f"line {n}: HELP/TYPE of {fam} after its samples"
            current = fam
            continue
        m = SAMPLE.match(line)
        assert m, f"line {n}: not a valid sample line: {line!r}"
        name, labels_text, value = m.group(1), m.group(2) or "", m.group(3)
        labels = dict(LABEL_RE.findall(labels_text))
        assert len(labels) == len(LABEL_RE.findall(labels_text)), f"line {n}: duplicate label in {line!r}"
        fam = family_of(name, types)
        assert fam in types, f"line {n}: sample of {name} without a TYPE line"
        assert not grouping or fam not in finished, \
            f"line {n}: {fam} samples are not in one group (they follow another family's HELP/TYPE lines)"
        if current != fam and current is not None:
            finished.add(current)
        current = fam
        key = (name, tuple(sorted(labels.items())))
        assert key not in seen_series, f"line {n}: duplicate series {line!r}"
        seen_series.add(key)
        v = float(value.replace("Inf", "inf"))
        samples.append((name, labels, v))
    for fam, t in types.items():
        if t == "counter":
            assert fam.endswith("_total") or fam.endswith("_count") or fam.endswith("_sum") \
                or fam.endswith("_seconds") or fam.endswith("_bytes"), f"counter {fam} not named per convention"
    return types, samples


def scrape(d, grouping=False):
    """Every line strictly checked; the grouping of families only in the format test, so the
    content tests report on content."""
    r = d.get("/metrics")
    assert r.status_code == 200, r.text
    ct = r.headers.get("Content-Type", "")
    assert ct.startswith("text/plain"), ct
    return parse(r.text, grouping)


def values(samples, name, **match):
    return [v for n, l, v in samples if n == name and all(l.get(k) == w for k, w in match.items())]


def one(samples, name, **match):
    vs = values(samples, name, **match)
    assert len(vs) == 1, (name, match, vs)
    return vs[0]


def check_histogram(types, samples, fam):
    assert types.get(fam) == "histogram", types.get(fam)
    buckets = [(l, v) for n, l, v in samples if n == fam + "_bucket"]
    assert buckets, f"no {fam}_bucket"
    groups = {}
    for l, v in buckets:
        assert "le" in l, l
        rest = tuple(sorted((k, x) for k, x in l.items() if k != "le"))
        groups.setdefault(rest, []).append((float(l["le"].replace("Inf", "inf")), v))
    for rest, bs in groups.items():
        bs.sort()
        assert bs[-1][0] == math.inf, f"{fam}{rest}: no le=\"+Inf\" bucket"
        counts = [v for _, v in bs]
        assert counts == sorted(counts), f"{fam}{rest}: buckets not cumulative: {bs}"
        labels = dict(rest)
        count = one(samples, fam + "_count", **labels)
        total = one(samples, fam + "_sum", **labels)
        assert count == bs[-1][1], (count, bs[-1])
        assert total >= 0
    return groups


def run_job(d, name):
    r = d.post("/api/v1/executions", {"deployment_id": name})
    assert r.status_code == 201, r.text
    return d.wait_execution(r.json()["id"])


def setup_workloads(d):
    assert d.post("/api/v1/deployments", {"name": "j", "runtime": "bash", "source": "echo hi\n"}).status_code == 201
    assert d.post("/api/v1/deployments", {"name": "bad", "runtime": "bash", "source": "exit 3\n"}).status_code == 201
    port = free_port()
    r = d.post("/api/v1/deployments", {"name": "web", "runtime": "python3", "source": HTTP_SERVICE, "port": port,
                                       "replicas": 2,
                                       "healthCheck": {"tcp": {"port": port}, "interval": "1s", "timeout": "1s"}})
    assert r.status_code == 201, r.text
    assert run_job(d, "j")["status"] == "Completed"
    d.wait_ready("web", 2)
    return port


def test_metrics_is_strict_prometheus_text(prisnd):
    setup_workloads(prisnd)
    types, samples = scrape(prisnd, grouping=True)
    assert samples
    r = prisnd.get("/metrics")
    assert "version=0.0.4" in r.headers["Content-Type"] or r.headers["Content-Type"].split(";")[0] == "text/plain"


def test_metrics_on_an_idle_daemon(prisnd):
    types, samples = scrape(prisnd, grouping=True)
    assert "prisn_deployments" in types and sum(values(samples, "prisn_deployments")) == 0
    assert one(samples, "process_resident_memory_bytes") > 1024 * 1024
    assert types.get("prisn_execution_duration_seconds") == "histogram"


def test_every_family_is_there_with_dns_and_http_off(daemon_factory):
    """A dashboard that names a family finds it on every node, whatever is switched off."""
    d = daemon_factory(extra_args=["--dns", "off", "--http", "off"])
    types, samples = scrape(d, grouping=True)
    for family in ("prisn_dns_queries_total", "prisn_dns_forwarded_total", "prisn_proxy_requests_total"):
        assert types.get(family) == "counter", (family, sorted(types))
    assert sum(values(samples, "prisn_dns_queries_total")) == 0


def test_metrics_contents(prisnd):
    setup_workloads(prisnd)
    types, samples = scrape(prisnd)

    assert types["prisn_deployments"] == "gauge"
    assert sum(values(samples, "prisn_deployments")) == 3

    assert types["prisn_instances"] == "gauge"
    web = [(l, v) for n, l, v in samples if n == "prisn_instances" and l.get("deployment") == "web"]
    assert web and all("state" in l for l, _ in web), web
    assert sum(v for _, v in web) == 2, web

    assert types["prisn_instance_restarts_total"] == "counter"
    assert values(samples, "prisn_instance_restarts_total", deployment="web") == [0]

    assert types["prisn_executions_total"] == "counter"
    assert one(samples, "prisn_executions_total", deployment="j", status="Completed") == 1
    assert values(samples, "prisn_executions_total", deployment="bad") in ([], [0], [0, 0])

    groups = check_histogram(types, samples, "prisn_execution_duration_seconds")
    assert sum(vs[-1][1] for vs in groups.values()) >= 1

    assert types["prisn_health_checks_total"] == "counter"
    hc = [(l, v) for n, l, v in samples if n == "prisn_health_checks_total"]
    assert hc and all("result" in l for l, _ in hc), hc
    assert sum(v for _, v in hc) >= 2

    assert types["process_resident_memory_bytes"] == "gauge"
    assert one(samples, "process_resident_memory_bytes") > 1024 * 1024
    assert types["process_cpu_seconds_total"] == "counter"
    assert one(samples, "process_cpu_seconds_total") >= 0


def test_counters_increase(prisnd):
    setup_workloads(prisnd)
    _, before = scrape(prisnd)
    completed0 = one(before, "prisn_executions_total", deployment="j", status="Completed")
    count0 = sum(values(before, "prisn_execution_duration_seconds_count"))
    checks0 = sum(values(before, "prisn_health_checks_total"))
    cpu0 = one(before, "process_cpu_seconds_total")

    for _ in range(2):
        assert run_job(prisnd, "j")["status"] == "Completed"
    assert run_job(prisnd, "bad")["status"] == "Failed"
    wait_until(lambda: sum(values(scrape(prisnd)[1], "prisn_health_checks_total")) >= checks0 + 2, 10,
               interval=0.5, message="more health checks")
    for _ in range(50):
        requests.get(prisnd.url("/api/v1/deployments"), timeout=5)

    types, after = scrape(prisnd)
    assert one(after, "prisn_executions_total", deployment="j", status="Completed") == completed0 + 2
    assert one(after, "prisn_executions_total", deployment="bad", status="Failed") == 1
    assert sum(values(after, "prisn_execution_duration_seconds_count")) == count0 + 3
    groups = check_histogram(types, after, "prisn_execution_duration_seconds")
    # Short runs (a script that prints a line takes 10-60 ms) fall in buckets of their own.
    assert {0.01, 0.025, 0.05} <= {le for le, _ in groups[()]}, groups
    assert sum(values(after, "prisn_health_checks_total")) >= checks0 + 2
    assert one(after, "process_cpu_seconds_total") >= cpu0


def test_instance_restarts_are_counted(prisnd):
    r = prisnd.post("/api/v1/deployments", {"name": "crashy", "runtime": "bash", "source": "sleep 0.2; exit 1\n",
                                            "port": free_port()})
    assert r.status_code == 201, r.text

    def restarts():
        vs = values(scrape(prisnd)[1], "prisn_instance_restarts_total", deployment="crashy")
        return vs and sum(vs) >= 2 and vs

    wait_until(restarts, 15, interval=0.5, message="restarts to be counted")
    d = prisnd.deployment("crashy")
    vs = values(scrape(prisnd)[1], "prisn_instance_restarts_total", deployment="crashy")
    assert sum(vs) >= d["status"]["restarts"] - 1 and d["status"]["restarts"] >= 2, (vs, d["status"])
    # A counter: a new spec starts the instances' restart count afresh, not this.
    counted = sum(vs)
    assert prisnd.post("/api/v1/deployments/crashy/restart").status_code == 200
    wait_until(lambda: prisnd.deployment("crashy")["status"]["restarts"] < d["status"]["restarts"], 15, interval=0.2,
               message="the new generation's restart count")
    assert sum(values(scrape(prisnd)[1], "prisn_instance_restarts_total", deployment="crashy")) >= counted


def test_an_instance_waiting_out_its_backoff_is_counted_in_state_backoff(prisnd):
    r = prisnd.post("/api/v1/deployments", {"name": "crashy", "runtime": "bash", "source": "exit 3\n",
                                            "port": free_port(), "replicas": 2})
    assert r.status_code == 201, r.text

    def backing_off():
        by_state = {l["state"]: v for n, l, v in scrape(prisnd)[1]
                    if n == "prisn_instances" and l.get("deployment") == "crashy"}
        return by_state.get("backoff") == 2 and by_state

    by_state = wait_until(backing_off, 15, interval=0.3, message="both instances in state backoff")
    assert sum(by_state.values()) == 2, by_state  # each desired instance in exactly one state

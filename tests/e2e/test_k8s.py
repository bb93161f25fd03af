# SPDX-License-Identifier: MIT
"""Kubernetes mode (SPEC §9): `prisn k8s render` and GET /api/v1/k8s/manifests turn what a real
prisnd runs into Kubernetes objects. The YAML is parsed back (python3-yaml) and checked
against the fields the Kubernetes API requires of each kind."""
import os
import re

import yaml

from conftest import HTTP_SERVICE, free_port

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
IANA_PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]?$")

INGRESS = """\
apiVersion: prisn.io/v1
kind: Ingress
metadata:
  name: web
spec:
  rules:
    - host: api.example.com
      paths:
        - path: /v1
          deployment: api
---
apiVersion: prisn.io/v1
kind: NetworkPolicy
metadata:
  name: api-from-worker
spec:
  target:
    deployment: api
  ingress:
    - from:
        - deployment: worker
      ports:
        - 8080
"""


def check_metadata(obj):
    meta = obj["metadata"]
    assert DNS_LABEL.match(meta["name"]) or re.match(r"^[a-z0-9.-]+$", meta["name"]), meta
    assert isinstance(meta.get("namespace"), str)
    for k, v in meta.get("labels", {}).items():
        assert isinstance(k, str) and isinstance(v, str), (k, v)
    for k, v in meta.get("annotations", {}).items():
        assert isinstance(k, str) and isinstance(v, str), (k, v)


def check_pod_spec(spec):
    assert spec["restartPolicy"] in ("Always", "OnFailure", "Never")
    volumes = {v["name"] for v in spec.get("volumes", [])}
    for c in spec["containers"]:
        assert DNS_LABEL.match(c["name"]) and isinstance(c["image"], str) and c["image"]
        assert all(isinstance(a, str) for a in c["command"])
        for e in c.get("env", []):
            assert isinstance(e["name"], str)
            assert ("value" in e) != ("valueFrom" in e), e
            if "value" in e:
                assert isinstance(e["value"], str), e
        for p in c.get("ports", []):
            assert isinstance(p["containerPort"], int) and IANA_PORT_NAME.match(p["name"]), p
        for m in c.get("volumeMounts", []):
            assert m["name"] in volumes


def check_object(obj):
    """The fields the API server requires, with their types (the OpenAPI schemas' essentials)."""
    check_metadata(obj)
    kind, api = obj["kind"], obj["apiVersion"]
    if kind == "ConfigMap":
        assert api == "v1" and all(isinstance(v, str) for v in obj["data"].values())
    elif kind == "Deployment":
        assert api == "apps/v1"
        spec = obj["spec"]
        assert isinstance(spec["replicas"], int)
        selector = spec["selector"]["matchLabels"]
        labels = spec["template"]["metadata"]["labels"]
        assert all(labels.get(k) == v for k, v in selector.items()), "selector must match the template"
        check_pod_spec(spec["template"]["spec"])
        assert spec["template"]["spec"]["restartPolicy"] == "Always"
    elif kind == "Service":
        assert api == "v1"
        for p in obj["spec"]["ports"]:
            assert isinstance(p["port"], int) and isinstance(p["targetPort"], int)
            assert IANA_PORT_NAME.match(p["name"])
    elif kind == "CronJob":
        assert api == "batch/v1"
        assert len(obj["spec"]["schedule"].split()) == 5
        check_pod_spec(obj["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    elif kind == "Ingress":
        assert api == "networking.k8s.io/v1"
        for rule in obj["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                assert p["pathType"] in ("Prefix", "Exact", "ImplementationSpecific")
                assert isinstance(p["backend"]["service"]["port"]["number"], int)
    elif kind == "NetworkPolicy":
        assert api == "networking.k8s.io/v1"
        assert "matchLabels" in obj["spec"]["podSelector"]
    else:
        raise AssertionError(f"unexpected kind {kind}")


def render(prisnd, *args):
    p = prisnd.cli("k8s", "render", *args)
    assert p.returncode == 0, p.stderr
    docs = [d for d in yaml.safe_load_all(p.stdout) if d is not None]
    for d in docs:
        check_object(d)
    return docs


def by_kind(docs, kind, name):
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name} in {[(d['kind'], d['metadata']['name']) for d in docs]}"
    return found[0]


def test_service_renders_deployment_service_and_configmap(prisnd, scripts):
    source = HTTP_SERVICE + "\n# a comment: with 'quotes' and \"more\"\n"
    f = scripts("api.py", source)
    prisnd.cli("secret", "create", "db-password", "--value", "hunter2", check=True)
    prisnd.cli("deploy", f, "--name", "api", "--port", "8080", "--replicas", "2", "--health-path", "/health",
               "-e", "LOG_LEVEL=info", "-e", "COUNT=10", "--secret", "db-password:DATABASE_PASSWORD", check=True)
    docs = render(prisnd, "api")
    assert sorted(d["kind"] for d in docs) == ["ConfigMap", "Deployment", "Service"]

    cm = by_kind(docs, "ConfigMap", "api-script")
    assert list(cm["data"].values()) == [source], "the script is carried byte-exact"

    dep = by_kind(docs, "Deployment", "api")
    assert dep["spec"]["replicas"] == 2
    assert dep["metadata"]["labels"]["prisn.io/deployment"] == "api"
    c = dep["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in c["env"]}
    assert env["PORT"]["value"] == "8080"
    assert env["LOG_LEVEL"]["value"] == "info" and env["COUNT"]["value"] == "10"
    assert env["DATABASE_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "db-password", "key": "value"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8080}
    assert dep["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] == "api-script"

    svc = by_kind(docs, "Service", "api")
    assert svc["spec"]["selector"] == {"prisn.io/deployment": "api"}
    assert svc["spec"]["ports"][0]["port"] == 8080

    out = prisnd.cli("k8s", "render", "api").stdout
    assert "hunter2" not in out, "secret values never leave prisn"


def test_cron_job_and_all(prisnd, scripts):
    prisnd.cli("deploy", scripts("report.py", "print('report')\n"), "--name", "nightly-report",
               "--schedule", "0 3 * * *", check=True)
    prisnd.cli("deploy", scripts("backup.sh", "#!/bin/bash\necho backup\n"), "--name", "backup-job", check=True)
    prisnd.cli("deploy", scripts("api.py", HTTP_SERVICE), "--name", "api", "--port", "8080", check=True)
    prisnd.cli("deploy", scripts("worker.py", HTTP_SERVICE), "--name", "worker", "--port", "8081", check=True)
    p = prisnd.post("/api/v1/apply", data=INGRESS, headers={"Content-Type": "application/yaml"})
    assert p.status_code == 200, p.text

    docs = render(prisnd, "--all")
    cron = by_kind(docs, "CronJob", "nightly-report")
    assert cron["spec"]["schedule"] == "0 3 * * *" and cron["spec"]["suspend"] is False
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    job = by_kind(docs, "CronJob", "backup-job")
    assert job["spec"]["suspend"] is True, "a job runs on demand: kubectl create job --from=cronjob/..."
    assert job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"][0] == "bash"
    ing = by_kind(docs, "Ingress", "web")
    path = ing["spec"]["rules"][0]["http"]["paths"][0]
    assert ing["spec"]["rules"][0]["host"] == "api.example.com"
    assert path["path"] == "/v1" and path["backend"]["service"] == {"name": "api", "port": {"number": 8080}}
    pol = by_kind(docs, "NetworkPolicy", "api-from-worker")
    assert pol["spec"]["podSelector"]["matchLabels"] == {"prisn.io/deployment": "api"}
    assert pol["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8080}]
    for name in ("nightly-report", "backup-job", "api", "worker"):
        by_kind(docs, "ConfigMap", f"{name}-script")

    # One deployment: its objects, and the ingress and policy that name it.
    kinds = sorted(d["kind"] for d in render(prisnd, "api"))
    assert kinds == ["ConfigMap", "Deployment", "Ingress", "NetworkPolicy", "Service"]


def test_api_endpoint_and_errors(prisnd, scripts):
    prisnd.cli("deploy", scripts("api.py", HTTP_SERVICE), "--name", "api", "--port", "8080", check=True)
    r = prisnd.get("/api/v1/k8s/manifests?deployment=api")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/yaml")
    assert {d["kind"] for d in yaml.safe_load_all(r.text)} == {"ConfigMap", "Deployment", "Service"}

    r = prisnd.get("/api/v1/k8s/manifests?deployment=missing")
    assert r.status_code == 404 and "missing" in r.json()["error"]["message"]
    r = prisnd.get("/api/v1/k8s/manifests?deployment=Bad_Name")
    assert r.status_code == 422 and "error" in r.json()
    prisnd.cli("deploy", scripts("api.py", HTTP_SERVICE), "--name", "1api", "--port", "8081", check=True)
    r = prisnd.get("/api/v1/k8s/manifests?deployment=1api")  # Kubernetes would refuse the Service
    assert r.status_code == 422 and "must begin with a letter" in r.json()["error"]["message"]
    p = prisnd.cli("k8s", "render", "1api")
    assert p.returncode != 0 and "1api" in p.stderr

    p = prisnd.cli("k8s", "render", "missing")
    assert p.returncode != 0 and "not found" in p.stderr
    p = prisnd.cli("k8s", "render")
    assert p.returncode != 0 and p.stderr


def test_render_all_skips_a_service_kubernetes_cannot_name_and_says_so(prisnd, scripts):
    prisnd.cli("deploy", scripts("api.py", HTTP_SERVICE), "--name", "api", "--port", "8080", check=True)
    prisnd.cli("deploy", scripts("report.py", "print('report')\n"), "--name", "report", "--schedule", "0 3 * * *",
               check=True)
    # A Service name must begin with a letter: Kubernetes would refuse this one's Service.
    prisnd.cli("deploy", scripts("lives.py", HTTP_SERVICE), "--name", "9lives", "--port", "8081", check=True)

    # An encoded slash routes in prisn as written, but the API server refuses it in a path.
    r = prisnd.post("/api/v1/ingresses", {"name": "odd", "rules": [{"host": "odd.example.com", "paths": [
        {"path": "/a%2Fb", "deployment": "api"}, {"path": "/fine", "deployment": "api"},
        {"path": "/later", "deployment": "later"},
        # not deployed yet: without a port, the Service port to name is not known; with one, it is
        {"path": "/ghost", "deployment": "ghost"}, {"path": "/ghost-port", "deployment": "ghost", "port": 8090}]}]})
    assert r.status_code == 201, r.text
    # A job deployed after an ingress named it (a path to an existing one is a 422): no Service to name.
    prisnd.cli("deploy", scripts("later.py", "print('later')\n"), "--name", "later", check=True)
    # An IP address routes in prisn as a Host, but the API server refuses it as a rule's host.
    r = prisnd.post("/api/v1/ingresses", {"name": "byip", "rules": [
        {"host": "10.1.2.3", "paths": [{"path": "/", "deployment": "api"}]},
        {"host": "named.example.com", "paths": [{"path": "/", "deployment": "api"}]}]})
    assert r.status_code == 201, r.text
    # Two names the exposed Ingress of `web` could take are Ingress resources already.
    prisnd.cli("deploy", scripts("web.py", HTTP_SERVICE), "--name", "web", "--port", "8082",
               "--expose", "ingress:web.example.com", check=True)
    for name in ("web", "web-expose"):
        r = prisnd.post("/api/v1/ingresses", {"name": name, "rules": [
            {"host": f"{name}.other.example.com", "paths": [{"path": "/", "deployment": "web"}]}]})
        assert r.status_code == 201, r.text

    p = prisnd.cli("k8s", "render", "--all")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("# prisn: skipped deployment '9lives'"), p.stdout[:300]
    assert "# prisn: skipped path odd.example.com/a%2Fb of ingress 'odd': the path '/a%2Fb' holds an encoded slash" \
        in p.stdout, p.stdout[:600]
    docs = [d for d in yaml.safe_load_all(p.stdout) if d is not None]
    for d in docs:
        check_object(d)
    for kind, name in (("Deployment", "api"), ("Service", "api"), ("ConfigMap", "api-script"),
                       ("CronJob", "report"), ("ConfigMap", "report-script")):
        by_kind(docs, kind, name)
    assert not [d for d in docs if "9lives" in d["metadata"]["name"]
                or d["metadata"].get("labels", {}).get("prisn.io/deployment") == "9lives"]
    assert "9lives" in p.stderr and "skipped" in p.stderr, p.stderr  # said where a person sees it too
    odd = by_kind(docs, "Ingress", "odd")
    assert [q["path"] for q in odd["spec"]["rules"][0]["http"]["paths"]] == ["/fine", "/ghost-port"], odd
    assert odd["spec"]["rules"][0]["http"]["paths"][1]["backend"]["service"] == {"name": "ghost", "port": {"number": 8090}}
    assert ("# prisn: skipped path odd.example.com/ghost of ingress 'odd': deployment 'ghost' does not exist and the "
            "path names no port") in p.stdout, p.stdout[:900]
    assert "# prisn: skipped path odd.example.com/later of ingress 'odd': deployment 'later' has no port" \
        in p.stdout, p.stdout[:900]
    assert [rule["host"] for rule in by_kind(docs, "Ingress", "byip")["spec"]["rules"]] == ["named.example.com"]
    assert "# prisn: skipped rule 10.1.2.3 of ingress 'byip': the host '10.1.2.3' is an IP address" in p.stdout
    ingress_names = [d["metadata"]["name"] for d in docs if d["kind"] == "Ingress"]
    assert sorted(ingress_names) == ["byip", "odd", "web", "web-expose", "web-expose-2"], ingress_names
    assert by_kind(docs, "Ingress", "web-expose-2")["spec"]["rules"][0]["host"] == "web.example.com"

    p = prisnd.cli("k8s", "render", "9lives")  # asked for by name, it is still an error
    assert p.returncode == 1 and "9lives" in p.stderr, (p.returncode, p.stderr)
    assert "apiVersion" not in p.stdout


def test_a_secret_reference_kubernetes_would_need_a_key_for_is_not_rendered(prisnd, scripts, tmp_path):
    """NAME:ENV takes key `value` or the only key; with several and none named value, neither
    prisn nor Kubernetes can pick one: the render says so instead of writing `key: value`."""
    (tmp_path / "a").write_text("A")
    prisnd.cli("secret", "create", "pair", "--from-file", f"a={tmp_path / 'a'}", f"b={tmp_path / 'a'}", check=True)
    prisnd.cli("deploy", scripts("j.py", "print(1)\n"), "--name", "pairjob", "--secret", "pair:X")
    p = prisnd.cli("k8s", "render", "pairjob")
    assert p.returncode == 1, p.stdout
    assert "secret 'pair' has several keys; name one as pair/KEY:X to render it" in p.stderr, p.stderr
    prisnd.cli("deploy", scripts("j.py", "print(1)\n"), "--name", "pairjob", "--secret", "pair/b:X", check=True)
    docs = [d for d in yaml.safe_load_all(prisnd.cli("k8s", "render", "pairjob", check=True).stdout) if d]
    refs = [e["valueFrom"]["secretKeyRef"] for d in docs if d["kind"] == "CronJob" or d["kind"] == "Job"
            for c in (d["spec"].get("jobTemplate", d)["spec"]["template"]["spec"]["containers"]) for e in c.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})]
    assert refs == [{"name": "pair", "key": "b"}], docs


def test_long_names_schedules_and_a_secret_shadowing_env_render_as_kubernetes_accepts(prisnd, scripts):
    long_name = "nightly-warehouse-export-to-object-storage-for-the-finance-team"
    assert 53 <= len(long_name) <= 63
    twin = long_name[:52] + "-other"  # the same first 52 characters
    for job in (long_name, twin):
        prisnd.cli("deploy", scripts("export.sh", "echo export\n"), "--name", job, check=True)
    prisnd.cli("deploy", scripts("sunday.sh", "echo sunday\n"), "--name", "sunday", "--schedule", "0 9 * * 7",
               check=True)
    prisnd.cli("deploy", scripts("weekend.sh", "echo weekend\n"), "--name", "weekend", "--schedule", "* * * * 5-7",
               check=True)
    prisnd.cli("secret", "create", "sec", "--value", "s3cret", check=True)
    prisnd.cli("deploy", scripts("api.py", HTTP_SERVICE), "--name", "api", "--port", "8080", "-e", "SEC=x",
               "-e", "OTHER=y", "--secret", "sec:SEC", check=True)
    docs = render(prisnd, "--all")

    # A CronJob's name is at most 52 characters (its Jobs add 11); the label keeps the whole name.
    crons = [d for d in docs if d["kind"] == "CronJob"
             and d["metadata"].get("labels", {}).get("prisn.io/deployment") == long_name]
    assert len(crons) == 1, [(d["kind"], d["metadata"]) for d in docs]
    name = crons[0]["metadata"]["name"]
    assert len(name) <= 52 and DNS_LABEL.match(name), name
    template = crons[0]["spec"]["jobTemplate"]["spec"]["template"]
    assert template["metadata"]["labels"]["prisn.io/deployment"] == long_name
    twins = [d["metadata"]["name"] for d in docs if d["kind"] == "CronJob"
             and d["metadata"].get("labels", {}).get("prisn.io/deployment") == twin]
    assert len(twins) == 1 and len(twins[0]) <= 52 and twins[0] != name, (name, twins)

    # Kubernetes' cron has no 7 for Sunday and no wrapping day ranges.
    assert by_kind(docs, "CronJob", "sunday")["spec"]["schedule"] == "0 9 * * 0"
    assert by_kind(docs, "CronJob", "weekend")["spec"]["schedule"] == "* * * * 0,5,6"

    # The secret wins over the env of the same name (as when prisn runs it): one entry, not two.
    env = by_kind(docs, "Deployment", "api")["spec"]["template"]["spec"]["containers"][0]["env"]
    sec = [e for e in env if e["name"] == "SEC"]
    assert sec == [{"name": "SEC", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "value"}}}], env
    assert {"name": "OTHER", "value": "y"} in env


def test_cron_job_carries_the_time_zone_prisnd_runs_in(daemon_factory, scripts):
    d = daemon_factory(env=dict(os.environ, TZ="America/New_York"))
    d.cli("deploy", scripts("morning.sh", "echo morning\n"), "--name", "morning", "--schedule", "0 9 * * 1-5",
          check=True)
    cron = by_kind(render(d, "morning"), "CronJob", "morning")
    # prisnd fires at 09:00 New York time: so must the CronJob, whatever the cluster's zone.
    assert cron["spec"]["timeZone"] == "America/New_York", cron["spec"]


def test_a_script_with_control_characters_renders_as_yaml_that_reads_back_exactly(prisnd):
    source = "import os\n\x0c\nprint('page two \x1b[0m', '\u2028', '\x7f')\n"
    r = prisnd.post("/api/v1/deployments", {"name": "paged", "filename": "paged.py", "source": source})
    assert r.status_code == 201, r.text
    cm = by_kind(render(prisnd, "paged"), "ConfigMap", "paged-script")
    assert cm["data"]["paged.py"] == source


def test_rendering_one_deployment_keeps_the_other_backends_of_a_shared_ingress(prisnd, scripts):
    front, back = free_port(), free_port()
    prisnd.cli("deploy", scripts("front.py", HTTP_SERVICE), "--port", str(front), check=True)
    prisnd.cli("deploy", scripts("back.py", HTTP_SERVICE), "--port", str(back), check=True)
    r = prisnd.post("/api/v1/ingresses", {"name": "shared", "rules": [{"host": "shop.example.com", "paths": [
        {"path": "/", "deployment": "front"}, {"path": "/api", "deployment": "back"}]}]})
    assert r.status_code == 201, r.text
    for one in ("front", "back"):
        paths = by_kind(render(prisnd, one), "Ingress", "shared")["spec"]["rules"][0]["http"]["paths"]
        ports = {p["backend"]["service"]["name"]: p["backend"]["service"]["port"]["number"] for p in paths}
        assert ports == {"front": front, "back": back}, (one, ports)

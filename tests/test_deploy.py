"""The systemd units pass `systemd-analyze verify` (with the install path pointed at this venv)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kervan.procs import ROOT

UNITS = ROOT / "deploy" / "systemd"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_units_verify(tmp_path):
    kervan = Path(sys.executable).with_name("kervan")
    assert kervan.exists()
    for unit in UNITS.glob("*.service"):
        text = unit.read_text().replace("/opt/kervan/.venv/bin/kervan", str(kervan))
        (tmp_path / unit.name).write_text(text)
    # A template is verified through an instance: "<role>-<channel>".
    shutil.copy(tmp_path / "kervan-worker@.service", tmp_path / "kervan-worker@catalog-trendyol.service")
    names = sorted(p.name for p in tmp_path.glob("*.service") if not p.name.endswith("@.service"))
    assert names == ["kervan-relay.service", "kervan-scheduler.service", "kervan-worker@catalog-trendyol.service"]
    out = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr


def test_worker_template_splits_role_and_channel():
    line = next(ln for ln in (UNITS / "kervan-worker@.service").read_text().splitlines()
                if ln.startswith("ExecStart="))
    # What systemd hands to the shell: $$ → $, %% → %, %i → the instance name.
    script = line.split("-c ", 1)[1].rsplit(" %i", 1)[0].strip("'").replace("$$", "$").replace("%%", "%")
    script = script.replace("exec /opt/kervan/.venv/bin/kervan worker", "echo")
    out = subprocess.run(["sh", "-c", script, "catalog-trendyol"], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["catalog", "--channel", "trendyol"]
    # A share of a partitioned channel's catalog queues.
    out = subprocess.run(["sh", "-c", script, "catalog-trendyol-0,1"], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["catalog", "--channel", "trendyol", "--partitions", "0,1"]
    assert build_parser().parse_args(["worker", "catalog", "--channel", "trendyol", "--partitions", "0,1"]
                                     ).partitions == "0,1"


# --- deploy/compose.yml, deploy/k8s/, deploy/grafana/, Makefile ops targets -------------------------
# PyYAML is not a dependency, so the YAML files are read by a small parser of the block subset they
# are written in (mappings, sequences, quoted/plain scalars, flow lists, `|` blocks, `---`). It is
# strict: a tab, a duplicate key or a line that belongs nowhere fails the test.

import configparser  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402

from bridge.config import DEFAULTS  # noqa: E402
from bridge.topology import Topology  # noqa: E402
from kervan.cli import build_parser  # noqa: E402

DEPLOY = ROOT / "deploy"
_KEY = re.compile(r"""^(?:"([^"]*)"|([^\s"'\[{#-][^:]*?|-[^\s:][^:]*?)):(?:\s+(.*))?$""")


def _uncomment(text: str) -> str:
    quote = None
    for i, c in enumerate(text):
        if c in "\"'" and quote in (None, c):
            quote = None if quote else c
        elif c == "#" and quote is None and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
    return text.rstrip()


def _scalar(text: str):
    text = text.strip()
    if text == "":
        return None
    if text[0] in "\"'":
        assert text.endswith(text[0]) and len(text) > 1, f"unterminated string {text!r}"
        return text[1:-1]
    if text.startswith("["):
        assert text.endswith("]"), f"unterminated flow list {text!r}"
        inner = text[1:-1].strip()
        return [_scalar(p) for p in re.findall(r'"[^"]*"|\'[^\']*\'|[^,]+', inner) if p.strip()] if inner else []
    if text == "{}":
        return {}
    assert not text.startswith(("{", "&", "*", "!", "|", ">")), f"unsupported YAML {text!r}"
    if text in ("true", "false"):
        return text == "true"
    return int(text) if re.fullmatch(r"-?\d+", text) else text


class MiniYaml:
    def __init__(self, text: str) -> None:
        assert "\t" not in text, "tab in YAML"
        self.lines = text.split("\n")
        self.i = 0

    def _next(self) -> tuple[int, str] | None:
        while self.i < len(self.lines):
            raw = _uncomment(self.lines[self.i])
            if raw.strip():
                return len(raw) - len(raw.lstrip(" ")), raw.strip()
            self.i += 1
        return None

    def node(self, indent: int):
        nxt = self._next()
        if nxt is None or nxt[0] < indent:
            return None
        return self.seq(nxt[0]) if nxt[1] == "-" or nxt[1].startswith("- ") else self.map(nxt[0])

    def seq(self, indent: int) -> list:
        items: list = []
        while (nxt := self._next()) and nxt[0] == indent and (nxt[1] == "-" or nxt[1].startswith("- ")):
            rest = nxt[1][1:].strip()
            if not rest:
                self.i += 1
                items.append(self.node(indent + 1))
            elif _KEY.match(rest):
                self.lines[self.i] = " " * (indent + 2) + rest  # "- key: v" is a mapping indented by two
                items.append(self.map(indent + 2))
            else:
                self.i += 1
                items.append(_scalar(rest))
        assert nxt is None or nxt[0] <= indent, f"line {self.i + 1}: unexpected indentation"
        return items

    def map(self, indent: int) -> dict:
        out: dict = {}
        while (nxt := self._next()) and nxt[0] == indent and not nxt[1].startswith("- "):
            m = _KEY.match(nxt[1])
            assert m, f"line {self.i + 1}: not a 'key: value' line: {nxt[1]!r}"
            key, rest = m.group(1) if m.group(1) is not None else m.group(2).strip(), (m.group(3) or "").strip()
            assert key not in out, f"line {self.i + 1}: duplicate key {key!r}"
            self.i += 1
            if rest == "|":
                block = []
                while self.i < len(self.lines) and (not self.lines[self.i].strip()
                                                    or len(self.lines[self.i]) - len(self.lines[self.i].lstrip()) > indent):
                    block.append(self.lines[self.i])
                    self.i += 1
                while block and not block[-1].strip():
                    block.pop()
                cut = min(len(ln) - len(ln.lstrip()) for ln in block if ln.strip())
                out[key] = "\n".join(ln[cut:] for ln in block) + "\n"
            elif rest:
                out[key] = _scalar(rest)
            else:
                following = self._next()
                if following and following[0] == indent and following[1].startswith("- "):
                    out[key] = self.seq(indent)  # a sequence may sit at its key's indentation
                else:
                    out[key] = self.node(indent + 1)
        assert nxt is None or nxt[0] < indent, f"line {self.i + 1}: unexpected indentation"
        return out


def load_yaml(text: str) -> list:
    docs = []
    for part in re.split(r"(?m)^---\s*$", text):
        parser = MiniYaml(part)
        doc = parser.node(0)
        assert parser._next() is None, f"line {parser.i + 1}: text after the document"
        if doc is not None:
            docs.append(doc)
    return docs


def test_mini_yaml_parser_is_strict():
    assert load_yaml("a:\n  b: [x, \"y z\"]\n  c:\n  - 1\n  - k: v\n    j: |\n      l1\n      l2\n") == [
        {"a": {"b": ["x", "y z"], "c": [1, {"k": "v", "j": "l1\nl2\n"}]}}]
    for bad in ("a: 1\na: 2\n", "a:\n\tb: 1\n", "a: 1\n   b: 2\n", "a: \"open\n"):
        with pytest.raises(AssertionError):
            load_yaml(bad)


def _cli_accepts(args: list[str]) -> None:
    ns = build_parser().parse_args(args)
    assert callable(ns.fn)


def test_compose_runs_the_whole_fleet():
    (doc,) = load_yaml((DEPLOY / "compose.yml").read_text())
    services = doc["services"]
    assert {"mariadb", "rabbitmq", "redis", "init", "sandbox", "relay", "scheduler", "gateway"} <= set(services)
    assert "management" in services["rabbitmq"]["image"]
    channels = services["relay"]["environment"]["KERVAN_CHANNELS_ENABLED"].split(",")
    assert channels == ["trendyol", "hepsiburada", "n11", "amazon"]
    for ch in channels:
        for role in ("catalog", "orders"):
            assert services[f"worker-{role}-{ch}"]["command"] == ["worker", role, "--channel", ch]
    for name, svc in services.items():
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown {dep}"
        if svc.get("image") == "kervan:local":
            if "command" in svc:
                _cli_accepts(svc["command"])
            for var in svc["environment"]:
                section, _, key = var[len("KERVAN_"):].lower().partition("_")
                assert key in DEFAULTS.get(section, {}), f"{name}: {var} is no Kervan setting"
    assert (DEPLOY / "compose_init.py").is_file()
    # The image holds every package setup.cfg installs, and the files its metadata names.
    copied = {w for line in (DEPLOY / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")
              for w in line.split()[1:-1]}
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    packages = {p.rstrip("*") for p in setup["options.packages.find"]["include"].split()}
    assert packages | {"setup.cfg", "pyproject.toml", "README.md", "LICENSE", "deploy"} <= copied, copied


def _k8s() -> list[dict]:
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs += load_yaml(path.read_text())
    assert all({"apiVersion", "kind", "metadata"} <= set(d) for d in docs)
    return docs


def test_k8s_workers_scale_on_their_own_queue():
    docs = _k8s()
    by_kind: dict[str, dict[str, dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    deployments, scaled = by_kind["Deployment"], by_kind["ScaledObject"]
    channels = ["trendyol", "hepsiburada", "n11", "amazon"]
    workers = {f"kervan-worker-{r}-{c}": (r, c) for r in ("catalog", "orders") for c in channels}
    assert set(workers) | {"kervan-relay", "kervan-scheduler", "kervan-gateway"} == set(deployments)
    targets = {s["spec"]["scaleTargetRef"]["name"]: s for s in scaled.values()}
    assert set(targets) == set(workers)
    topo_queues = set(Topology(channels=tuple(channels)).work_queues())  # what `kervan migrate` declares
    for name, (role, channel) in workers.items():
        (trigger,) = targets[name]["spec"]["triggers"]
        assert trigger["type"] == "rabbitmq" and trigger["metadata"]["queueName"] == Topology.queue(role, channel)
        assert trigger["metadata"]["queueName"] in topo_queues
        assert trigger["authenticationRef"]["name"] in by_kind["TriggerAuthentication"]
        assert targets[name]["spec"]["minReplicaCount"] >= 1  # the batch poller runs inside the worker
    for dep in deployments.values():
        pod = dep["spec"]["template"]
        assert dep["spec"]["selector"]["matchLabels"] == pod["metadata"]["labels"]
        (container,) = pod["spec"]["containers"]
        _cli_accepts(container["args"])
        assert container["envFrom"][0]["secretRef"]["name"] in by_kind["Secret"]
        assert pod["spec"]["volumes"][0]["configMap"]["name"] in by_kind["ConfigMap"]
    assert deployments["kervan-worker-catalog-trendyol"]["spec"]["template"]["spec"][
        "terminationGracePeriodSeconds"] == 150
    service = by_kind["Service"]["kervan-gateway"]
    assert service["spec"]["selector"].items() <= deployments["kervan-gateway"]["spec"]["template"]["metadata"][
        "labels"].items()


def test_k8s_config_names_only_real_settings():
    docs = _k8s()
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap"]
    ini = configparser.ConfigParser(interpolation=None)
    ini.read_string(cm["data"]["kervan.ini"])
    for section in ini.sections():
        for key in ini[section]:
            assert key in DEFAULTS[section], f"[{section}] {key} is no Kervan setting"
    (secret,) = [d for d in docs if d["kind"] == "Secret"]
    for var in secret["stringData"]:
        if var.startswith("KERVAN_"):
            section, _, key = var[len("KERVAN_"):].lower().partition("_")
            assert key in DEFAULTS.get(section, {}), f"{var} is no Kervan setting"
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(DEPLOY / "kervan.ini.example")
    for key in ini["alerts"]:
        assert key in DEFAULTS["alerts"]


def exported_metrics() -> dict[str, str]:
    """Metric name → the kind the code registers it as, found in the fleet's sources."""
    found = {}
    for pkg in ("bridge", "workers", "gateway", "kervan"):
        for path in (ROOT / pkg).rglob("*.py"):
            for m in re.finditer(r"""(Counter|Gauge|Histogram|Summary|gauge)\(\s*["'](kervan_\w+)["']""",
                                 path.read_text()):
                found[m.group(2)] = m.group(1)
    return found


def test_grafana_dashboard_queries_only_exported_metrics():
    dash = json.loads((DEPLOY / "grafana" / "kervan.json").read_text())
    exported = exported_metrics()
    assert {"kervan_messages_total", "kervan_handler_seconds", "kervan_outbox_lag_seconds"} <= set(exported)
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 15
    used = set()
    for expr in exprs:
        for name in re.findall(r"\bkervan_\w+", expr):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if base != name:
                assert exported.get(base) == "Histogram", f"{name}: {base} is not a histogram the code exports"
            else:
                assert name in exported, f"the dashboard queries {name}, which no code exports"
            used.add(base)
    # Every family the code exports is on the dashboard.
    assert used == set(exported), set(exported) - used


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_makefile_ops_targets_dry_run():
    def dry(*args: str) -> str:
        out = subprocess.run(["make", "-n", "-s", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert "kervan migrate" in dry("install") and "kervan migrate" in dry("migrate")
    assert "kervan alerts --check" in dry("alerts")
    assert "kervan replay 3 4 --queue 'kervan.catalog.trendyol'" in dry("replay", "IDS=3 4", "QUEUE=kervan.catalog.trendyol")
    assert "kervan chaos --duration" in dry("chaos")
    assert "systemctl start kervan-relay.service" in dry("start", "ROLE=relay")
    assert "systemctl restart kervan-worker@orders-n11.service" in dry("restart", "ROLE=orders", "CHANNEL=n11")
    assert "systemctl stop kervan-gateway@8781.service" in dry("stop", "ROLE=gateway", "GATEWAY_PORT=8781")
    assert "'kervan-worker@*.service'" in dry("stop")
    if not Path("/run/systemd/system").is_dir():
        out = subprocess.run(["make", "-s", "start", "ROLE=relay"], cwd=ROOT, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode != 0 and "systemd is not running on this machine" in out.stdout

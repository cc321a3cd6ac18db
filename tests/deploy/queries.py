"""The PromQL of ``deploy/``: every Grafana panel query and every alert expression, read
from the files an operator deploys, and what a test needs to evaluate them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARDS = sorted((DEPLOY / "grafana").glob("*.json"))
ALERTS = DEPLOY / "prometheus" / "alerts.yml"

#: Grafana's variables as a test evaluates them: a window that holds several 1 s scrapes,
#: every instance
GRAFANA_VARIABLES = {"$__rate_interval": "30s", "$instance": ".+"}

_METRIC = re.compile(r"\b(vpp_[a-z0-9_]+|up)\b(?!\s*\()")
_COMPARISON = re.compile(r"==|!=|>=|<=|>|<")
_LABEL_VALUES = re.compile(r"^label_values\((?P<metric>[^,]+),\s*\w+\)$")


def dashboard_queries() -> Iterator[tuple[str, str]]:
    """(where, PromQL) of every panel target and query variable of every dashboard."""
    for path in DASHBOARDS:
        doc = json.loads(path.read_text())
        for panel in doc["panels"]:
            for target in panel["targets"]:
                yield f"{path.name}: {panel['title']} [{target['refId']}]", grafana(target["expr"])
        for var in doc["templating"]["list"]:
            if var["type"] == "query":
                found = _LABEL_VALUES.match(var["definition"])
                assert found, f"{path.name}: variable {var['name']} is no label_values()"
                yield f"{path.name}: variable {var['name']}", found["metric"]


def alert_rules() -> Iterator[tuple[str, str]]:
    """(alert name, expression) of every rule of deploy's alert rules."""
    doc = yaml.safe_load(ALERTS.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            yield rule["alert"], rule["expr"]


def grafana(expr: str) -> str:
    """``expr`` with Grafana's variables replaced as the test evaluates them."""
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"a Grafana variable the test does not know: {expr}"
    return expr


def metric_names(expr: str) -> set[str]:
    """The vpp metric names (and ``up``) an expression selects."""
    return {m for m in _METRIC.findall(expr)}


def family(name: str) -> str:
    """The metric family of a sample name: a histogram's ``_bucket``/``_count``/``_sum``
    and a counter's ``_total`` belong to the name the code registers."""
    for suffix in ("_bucket", "_count", "_sum", "_total"):
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def with_bool(expr: str) -> str:
    """``expr`` with every comparison outside label matchers turned into a ``bool`` one:
    an alert's expression then answers 0 or 1 for each series it watches, so "returns
    series" checks that what it watches exists, firing or not."""
    out, depth, quote, i = [], 0, "", 0
    while i < len(expr):
        ch = expr[i]
        if quote:
            quote = "" if ch == quote and expr[i - 1] != "\\" else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "{}":
            depth += 1 if ch == "{" else -1
        elif depth == 0 and (m := _COMPARISON.match(expr, i)):
            out.append(m.group() + " bool")
            i = m.end()
            continue
        out.append(ch)
        i += 1
    return "".join(out)

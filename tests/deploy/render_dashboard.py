#!/usr/bin/python3
"""Renders the Grafana dashboard's panels to one PNG from a live Prometheus, laid out like
the dashboard (gridPos), so a reader sees what the dashboard shows without a Grafana.

    /usr/bin/python3 tests/deploy/render_dashboard.py --prom http://127.0.0.1:9090 \
        --dashboard deploy/grafana/hookrelay.json --start UNIX --end UNIX --out dashboard.png

prometheus_live.sh runs it when HOOKRELAY_LIVE_PLOTS=DIR is set. Needs Debian's
python3-matplotlib (run with /usr/bin/python3). Uses only the standard library otherwise.
"""
import argparse
import json
import re
import urllib.parse
import urllib.request

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

VARS = {
    "__rate_interval": "15s",
    "__interval": "1s",
    "__range": "1m",
    "job": ".*hookrelay.*",
    "instance": ".+",
}

UNITS = {"percentunit": "ratio", "reqps": "req/s", "ops": "ops/s", "s": "seconds", "short": ""}


def substitute(expr, rng):
    vars_ = dict(VARS, __range=rng)
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", lambda m: vars_[m.group(1) or m.group(2)], expr)


def query_range(prom, expr, start, end, step):
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{prom}/api/v1/query_range?{q}", timeout=10) as r:
        body = json.load(r)
    return body["data"]["result"] if body.get("status") == "success" else []


def legend(fmt, labels):
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt or "") or json.dumps(labels)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prom", required=True)
    ap.add_argument("--dashboard", required=True)
    ap.add_argument("--start", type=float, required=True)
    ap.add_argument("--end", type=float, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    d = json.load(open(a.dashboard))
    panels = []
    for p in d["panels"]:
        panels.append(p)
        panels.extend(p.get("panels", []) if p["type"] == "row" else [])
    total_h = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    unit_h = 0.42  # inches per grid row
    fig = plt.figure(figsize=(24, total_h * unit_h))
    rng = f"{max(int(a.end - a.start), 10)}s"
    step = max(1, int((a.end - a.start) / 200))
    t0 = a.start

    for p in panels:
        g = p["gridPos"]
        left, bottom = g["x"] / 24, 1 - (g["y"] + g["h"]) / total_h
        width, height = g["w"] / 24, g["h"] / total_h
        if p["type"] == "row":
            fig.text(left + 0.002, bottom + height / 2, p["title"], fontsize=13, weight="bold", va="center")
            continue
        row = 1 / total_h
        ax = fig.add_axes([left + 0.025, bottom + 0.9 * row, width - 0.035, height - 1.6 * row])
        ax.set_title(p["title"], fontsize=9, loc="left")
        unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
        if p["type"] == "stat":
            ax.axis("off")
            texts = []
            for t in p["targets"]:
                for s in query_range(a.prom, substitute(t["expr"], rng), a.end, a.end, 1):
                    v = float(s["values"][-1][1])
                    shown = f"{v:.1%}" if unit == "percentunit" else (f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}")
                    label = legend(t.get("legendFormat"), s["metric"])
                    texts.append(f"{shown}  {label}" if len(p["targets"]) > 1 or "{{" in (t.get("legendFormat") or "") else shown)
            ax.text(0.5, 0.45, "\n".join(texts) or "no data", ha="center", va="center",
                    fontsize=18 if len(texts) <= 1 else 11, color="#2a7d2a", transform=ax.transAxes)
            continue
        n = 0
        for t in p["targets"]:
            for s in query_range(a.prom, substitute(t["expr"], rng), a.start, a.end, step):
                xs = [float(v[0]) - t0 for v in s["values"]]
                ys = [float(v[1]) for v in s["values"]]
                ax.plot(xs, ys, linewidth=1.2, label=legend(t.get("legendFormat"), s["metric"]))
                n += 1
        if n:
            ax.legend(fontsize=6, loc="upper left", ncol=2, frameon=False)
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("seconds into the run", fontsize=7)
        if UNITS.get(unit, unit):
            ax.set_ylabel(UNITS.get(unit, unit), fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(f'{d["title"]}: panels rendered from a live Prometheus', fontsize=14, y=0.999)
    fig.savefig(a.out, dpi=70)
    print(f"    wrote {a.out}")


if __name__ == "__main__":
    main()

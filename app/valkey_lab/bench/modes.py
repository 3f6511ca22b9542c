"""The bench's other modes (``--sweep``, ``--scorecard``, ``--promotion``): each builds its own
labs, records every run in one history, writes a JSON report (with the machine, the date and
the load average at the start and the end), prints tables and writes SVG pictures."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console

from valkey_lab.history.recorder import RunRecorder
from valkey_lab.util import LabError, WaitTimeout, now


def main(args, console: Console, machine, load_average, wire) -> int:
    """``wire(console, recorder)`` -> the topology's own runs for each mode (bench_cli wires
    ha/bench.py and cluster/bench.py in: this floor does not import them)."""
    from valkey_lab.bench import promotion, scorecard, sweep
    mode = "sweep" if args.sweep else "scorecard" if args.scorecard else "promotion"
    json_path = args.json if args.json != "reports/bench.json" else f"reports/{mode}.json"
    report = {"suite": f"bench-{mode}", "backend": "local", "machine": machine(), "runs": args.runs,
              "load_average_start": load_average(), "command": "python app/bench.py " + " ".join(sys.argv[1:])}
    recorder = RunRecorder()
    recorder.meta(suite=f"bench-{mode}", backend="local", machine=report["machine"])
    started = now()
    wired = wire(console, recorder)
    try:
        if mode == "sweep":
            report.update(sweep.run_sweep(args, console, wired["sweep"]))
        elif mode == "scorecard":
            report.update(scorecard.run_scorecard(args, console, wired["scorecard"]))
        else:
            report.update(promotion.run_promotion(args, console, *wired["promotion"]))
    except (LabError, WaitTimeout) as exc:
        sys.stderr.write(f"bench: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("bench: interrupted; everything the run started has been stopped\n")
        return 130
    finally:
        if args.history:
            Path(args.history).mkdir(parents=True, exist_ok=True)
            recorder.save(Path(args.history) / "history.jsonl")
    report["duration_s"] = round(now() - started, 1)
    report["load_average_end"] = load_average()
    pictures = []
    if mode == "sweep":
        sweep.render(console, report)
        if args.svg_dir:
            pictures = sweep.write_svgs(report, args.svg_dir)
    elif mode == "scorecard":
        scorecard.render(console, report)
        if args.svg_dir:
            pictures = scorecard.write(report, args.svg_dir)
    else:
        promotion.render(console, report)
    report["pictures"] = pictures
    Path(json_path).parent.mkdir(parents=True, exist_ok=True)
    Path(json_path).write_text(json.dumps(report, indent=2, default=str) + "\n")
    console.print(f"load average (1, 5, 15 min) at the start {report['load_average_start']}, at the end "
                  f"{report['load_average_end']}, on {report['machine']['cpus']} CPUs")
    console.print(f"report written to {json_path}" + (f", pictures: {', '.join(pictures)}" if pictures else ""))
    return 0


__all__ = ["main"]

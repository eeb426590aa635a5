"""MkDocs hook: the reference pages' generated parts, made from the code at build time so they
cannot drift: every ``moduli`` command's ``--help`` and the Hydra config groups with their options."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "src" / "moduli" / "conf"
COMMANDS = ["predict", "train", "models", "report", "features", "bundle", "folds", "sweeps"]


def help_text(*args: str) -> str:
    """What ``moduli ARGS --help`` prints (the installed package, 100 columns)."""
    env = {**os.environ, "COLUMNS": "100", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, "-m", "moduli", *args, "--help"], capture_output=True,
                            text=True, env=env, cwd=ROOT, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"moduli {' '.join(args)} --help failed: {result.stderr[-2000:]}")
    return result.stdout.rstrip()


def cli_reference() -> str:
    parts = ["## moduli", "", "```text", help_text(), "```"]
    for command in COMMANDS:
        parts += ["", f"## moduli {command}", "", "```text", help_text(command), "```"]
    return "\n".join(parts)


def leading_comment(path: Path) -> str:
    """The comment lines a config file starts with, as one line of prose."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(lines) or "(no description)"


def config_reference() -> str:
    parts = [f"Top level: {', '.join(f'`{p.name}`' for p in sorted(CONF.glob('*.yaml')))}.", ""]
    for group in sorted(p for p in CONF.iterdir() if p.is_dir() and not p.name.startswith("_")):
        options = sorted(p for p in group.glob("*.yaml") if not p.name.startswith("_"))
        if not options:
            continue
        parts += [f"## {group.name}", "", "| option | what it is |", "|---|---|"]
        parts += [f"| `{group.name}={p.stem}` | {leading_comment(p).replace('|', '/')} |" for p in options]
        parts.append("")
    return "\n".join(parts)


GENERATED = {"<!-- generated: cli help -->": cli_reference,
             "<!-- generated: config groups -->": config_reference}


def on_page_markdown(markdown: str, page, config, files) -> str:
    for marker, make in GENERATED.items():
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return markdown

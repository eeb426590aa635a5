"""Faults a long screen meets, tried on the installed `moduli` command with real structures.

    python experiments/2026-12-07_cli_and_faults/faults.py [WORK_DIR]

Writes 300 real MP structures (matminer's dielectric set in ../shared/data) as CIF files into
WORK_DIR (default: a temporary folder), then runs `moduli predict` through each fault and
prints one table row per fault: what was done, the exit code, the last line on stderr, and the
check on the result (every id once, values equal to the uninterrupted run).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

MODULI = str(Path(sys.executable).parent / "moduli")
ARGS = ["--models", "fast", "--set", "chunk_size=25", "-q"]


def cifs(folder: Path) -> None:
    from pymatgen.core import Structure

    from moduli.core.structures import read_json, table_rows

    data = Path(os.environ.get("MODULI_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data"))
    rows = table_rows(read_json(data / "matminer_dielectric_constant_bandgap.json.gz"))[:300]
    folder.mkdir(parents=True, exist_ok=True)
    for row in rows:
        Structure.from_dict(row["structure"]).to(filename=str(folder / f"{row['material_id']}.cif"))


def moduli(work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([MODULI, "predict", "cifs", *args, *ARGS], cwd=work, capture_output=True, text=True)


def last_line(result) -> str:
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return lines[-1][:150] if lines else ""


def check(work: Path, output: str, reference: pd.DataFrame | None) -> str:
    table = pd.read_csv(work / output)
    once = table["id"].is_unique and len(table) == 300
    if reference is None:
        return f"{len(table)} rows, ids unique: {once}"
    merged = table.merge(reference, on="id", suffixes=("", "_ref"))
    worst = (merged["bulk_modulus_gpa"] / merged["bulk_modulus_gpa_ref"] - 1).abs().max()
    return f"{len(table)} rows, ids unique: {once}, max rel. diff of B vs uninterrupted {worst:.1e}"


def main() -> None:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="moduli-faults-"))
    cifs(work / "cifs")
    rows = []

    def row(fault, result, outcome=""):
        rows.append((fault, result.returncode, last_line(result), outcome))

    started = time.perf_counter()
    first = moduli(work, "-o", "ref.csv")
    row(f"clean run ({time.perf_counter() - started:.0f} s)", first, check(work, "ref.csv", None))
    reference = pd.read_csv(work / "ref.csv")
    row("rerun of a finished run", moduli(work, "-o", "ref.csv"), check(work, "ref.csv", reference))

    victim = sorted((work / "cifs").iterdir())[130]
    text = victim.read_text()
    victim.write_text(text.replace("_cell_length_a", "_cell_length_a ", 1))
    row("rerun after one CIF changed", moduli(work, "-o", "ref.csv"))
    victim.write_text(text)
    row("the same with --overwrite", moduli(work, "-o", "ref.csv", "--overwrite"), check(work, "ref.csv", reference))
    row("rerun with other models", subprocess.run([MODULI, "predict", "cifs", "-o", "ref.csv", "--models", "default",
                                                   "--set", "chunk_size=25", "-q"], cwd=work, capture_output=True,
                                                  text=True))

    for name, sig in (("SIGTERM", signal.SIGTERM), ("SIGINT", signal.SIGINT), ("SIGKILL", signal.SIGKILL)):
        output = f"{name.lower()}.csv"
        process = subprocess.Popen([MODULI, "predict", "cifs", "-o", output, *ARGS], cwd=work,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        marker = work / f"{name.lower()}.run" / "shards" / "chunk-00003.done.json"
        while not marker.exists() and process.poll() is None:
            time.sleep(0.02)
        sent = time.perf_counter()
        process.send_signal(sig)
        _, err = process.communicate()
        stopped = subprocess.CompletedProcess(process.args, process.returncode, "", err)
        row(f"{name} to the main process after 4 chunks (stopped in {time.perf_counter() - sent:.1f} s)", stopped)
        row(f"rerun after {name}", moduli(work, "-o", output), check(work, output, reference))

    # The default models (SevenNet-0 features) keep the first run busy long enough.
    busy = ["predict", "cifs", "-o", "busy.csv", "--models", "default", "--set", "chunk_size=25", "-q"]
    holder = subprocess.Popen([MODULI, *busy], cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (work / "busy.run" / "shards" / "chunk-00000.done.json").exists():
        time.sleep(0.02)
    row("a second run into a dir in use", subprocess.run([MODULI, *busy], cwd=work, capture_output=True, text=True))
    holder.wait()

    print("| fault | exit | last line on stderr | result |")
    print("| --- | --- | --- | --- |")
    for fault, code, line, outcome in rows:
        print(f"| {fault} | {code} | {line.replace('|', '/')} | {outcome} |")


if __name__ == "__main__":
    main()

"""The docs site builds with ``mkdocs build --strict`` (a broken link, a missing page or an API
reference that does not resolve fails), and its generated reference pages hold what the code says."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_docs_site_builds_strictly_with_the_generated_reference(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)], cwd=REPO,
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    cli = (site / "reference" / "cli" / "index.html").read_text()
    for command in ("predict", "train", "models", "report", "features", "bundle", "folds", "sweeps"):
        assert f"moduli {command}" in cli, command
    assert "structure files, folders or globs" in cli  # moduli predict's own help text
    config = (site / "reference" / "config" / "index.html").read_text()
    for option in sorted((REPO / "src" / "moduli" / "conf" / "model").glob("[!_]*.yaml")):
        assert f"model={option.stem}" in config, option.stem
    api = (site / "reference" / "api" / "index.html").read_text()
    assert "Bulk and shear moduli (GPa)" in api  # moduli.predict's docstring

"""The built wheel is the whole project: every subpackage ships, imports and runs without the source tree.

Builds a wheel from a clean copy of this checkout's packages and pyproject.toml (``pip wheel --no-deps
--no-build-isolation``: no download), installs it into a
fresh virtual environment whose only other path is the current environment's site-packages (for numpy, torch,
...; ``.pth`` files there, such as an editable install of this project, are not processed), and runs from a
directory outside the source tree: every subpackage found in the source tree must import from the installed
copy, and ``python -m checks --list`` must list every claim.
"""

from __future__ import annotations

import json
import os
import pkgutil
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("theory", "numerics", "checks")


def source_modules() -> list[str]:
    """Every package and module of the source tree, by dotted name (what the wheel must contain), but the
    ``__main__`` modules: importing one runs its command line (``python -m checks --list`` below runs one)."""
    names = []
    for top in PACKAGES:
        names.append(top)
        names += [m.name for m in pkgutil.walk_packages([str(ROOT / top)], prefix=top + ".")]
    return sorted(n for n in names if not n.endswith(".__main__"))


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(python of a fresh venv holding only the wheel, a working directory outside the source tree)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # a copy without build/ or egg-info leftovers, which setuptools would package instead
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
    for name in PACKAGES:
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp / "dist"),
            str(src),
        ],
        cwd=tmp,
    )
    wheels = list((tmp / "dist").glob("cnnverify-*.whl"))
    assert len(wheels) == 1, wheels
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = Path(
        run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp).stdout.strip()
    )
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            "--target",
            str(purelib),
            str(wheels[0]),
        ],
        cwd=tmp,
    )
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    (purelib / "zz_dependencies.pth").write_text("".join(p + "\n" for p in sorted(deps)))
    work = tmp / "elsewhere"
    work.mkdir()
    return python, work


def clean_env() -> dict[str, str]:
    """The environment without PYTHONPATH / PYTHONHOME, which could put the source tree back on the path."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def test_wheel_ships_and_imports_every_subpackage(installed):
    python, work = installed
    expected = source_modules()
    assert {"theory.spec", "numerics.duat", "numerics.duat.layers", "checks.duat"} <= set(expected)
    script = (
        "import importlib, json, sys\n"
        f"names = {expected!r}\n"
        "files = {n: importlib.import_module(n).__file__ for n in names}\n"
        "print(json.dumps(files))\n"
    )
    out = run([str(python), "-c", script], cwd=work, env=clean_env()).stdout
    files = json.loads(out)
    outside = {n: f for n, f in files.items() if not str(f).startswith(str(python.parent.parent))}
    assert not outside, f"imported from outside the fresh venv (the source tree leaked in): {outside}"


def test_installed_checks_lists_every_claim(installed):
    import checks

    python, work = installed
    out = run([str(python), "-m", "checks", "--list"], cwd=work, env=clean_env()).stdout
    listed = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert listed == checks.REGISTRY.ids()

"""Re-resolve the whole dependency set and write it to ``constraints.txt``.

Usage (one command, from the repository root)::

    python tools/relock.py [--python python3.11]

A throwaway virtual environment gets the project with its ``test`` extra installed from
the package index *without* the current constraints (the newest releases the ranges in
``pyproject.toml`` admit), then the test suite is run in it; the lock is written only when
the suite passes, so an upgrade that breaks the tests (pytest 9.2 with schemathesis 4.32,
say) never reaches main. Pass ``--no-test`` to write the lock anyway and fix the breakage
by pinning a range in ``pyproject.toml``.

README's commands and ``.ci/run`` install with ``-c constraints.txt``, so every machine
runs the locked set.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "constraints.txt"
HEADER = (
    "# The locked dependency set of carbon-ledger and its test extra.\n"
    "# Installed by README's commands and CI: python -m pip install -c constraints.txt ...\n"
    "# Regenerate (newest admitted releases, kept only if the tests pass):\n"
    "#     python tools/relock.py\n"
)


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    print("+", " ".join(args), flush=True)
    return subprocess.run(args, check=True, text=True, **kwargs)  # type: ignore[call-overload]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-test", action="store_true", help="write the lock untested")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="carbon-ledger-relock-") as tmp:
        env_dir = Path(tmp) / "venv"
        venv.EnvBuilder(with_pip=True).create(env_dir)
        python = str(env_dir / "bin" / "python")
        _run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"])
        _run([python, "-m", "pip", "install", "-q", "-e", f"{ROOT}[test]"])
        if not options.no_test:
            _run([python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"], cwd=ROOT)
        frozen = _run(
            [python, "-m", "pip", "freeze", "--exclude-editable", "--all"],
            stdout=subprocess.PIPE,
        ).stdout
    pins = sorted(
        (line for line in frozen.splitlines() if line and not line.startswith(("#", "-e"))),
        key=str.lower,
    )
    pins = [pin for pin in pins if not pin.lower().startswith(("pip==", "setuptools==", "wheel=="))]
    LOCK.write_text(HEADER + "\n".join(pins) + "\n", encoding="utf-8")
    print(f"wrote {len(pins)} pins to {LOCK.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

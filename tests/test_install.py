"""The installed environment is the locked one, and CI runs README's own test command."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def _locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, version = line.partition("==")
        assert version, f"constraints.txt: {line!r} is not an exact pin"
        pins[canonicalize_name(name)] = version
    return pins


def _requirements_of_the_project() -> set[str]:
    """Every distribution the project needs with its test extra, transitively."""
    wanted: set[str] = set()
    todo = [("carbon-ledger", frozenset({"test"}))]
    while todo:
        name, extras = todo.pop()
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            environment = {"extra": ""}
            applies = requirement.marker is None or any(
                requirement.marker.evaluate({**environment, "extra": extra})
                for extra in (extras or {""})
            )
            if not applies:
                continue
            key = canonicalize_name(requirement.name)
            if key not in wanted:
                wanted.add(key)
                todo.append((requirement.name, frozenset(requirement.extras)))
    return wanted


def test_every_installed_requirement_is_the_locked_version():
    locked = _locked()
    mismatched = []
    for name in sorted(_requirements_of_the_project()):
        assert name in locked, f"{name} is required but not in constraints.txt (relock)"
        installed = metadata.version(name)
        if installed != locked[name]:
            mismatched.append(f"{name} {installed} (locked {locked[name]})")
    assert not mismatched, "installed without -c constraints.txt? " + ", ".join(mismatched)


def test_ci_runs_exactly_the_test_command_of_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```bash\n(python -m pip install [^\n]*)\n```", readme)
    assert len(commands) == 2, commands
    test_command = next(command for command in commands if "pytest" in command)
    assert "-c constraints.txt" in test_command
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci
    assert any("venv" in line for line in ci), "CI installs into a fresh virtual environment"

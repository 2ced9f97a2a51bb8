"""Compiled Solidity contracts of carbon-ledger.

The Solidity sources live next to this module; ``compile.js`` compiles them with the solc version
pinned in ``package.json`` into ``artifacts/<ContractName>.json`` (committed, shipped as package
data). Each artifact holds ``contractName``, ``abi``, ``bytecode``, ``deployedBytecode``,
``compiler``, ``settings`` and ``sourceSha256``.
"""

import json
import re
from importlib import resources
from typing import Any

__all__ = ["load_artifact"]

_CONTRACT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def load_artifact(name: str) -> dict[str, Any]:
    """Return the compiled artifact of contract ``name`` (e.g. ``"AnchorRegistry"``).

    Reads ``contracts/artifacts/<name>.json`` from the installed package, so it works from a
    source checkout as well as from a wheel.

    Raises:
        ValueError: ``name`` is not a valid Solidity identifier or the file is not a JSON object.
        FileNotFoundError: no artifact has been compiled for ``name``.
    """
    if not _CONTRACT_NAME.fullmatch(name):
        raise ValueError(f"invalid contract name: {name!r}")
    resource = resources.files(__name__).joinpath("artifacts").joinpath(f"{name}.json")
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no compiled artifact for contract {name!r}; run `node contracts/compile.js`"
        ) from None
    artifact = json.loads(text)
    if not isinstance(artifact, dict):
        raise ValueError(f"artifact of contract {name!r} is not a JSON object")
    return artifact

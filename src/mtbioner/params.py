"""The workflow's parameters as Snakemake sees them: params.yaml, overlays deep-merged over it, validated.

Snakemake merges `--configfile` overlays over `configfile:` (nested mappings key by key, lists replaced) and
fills schema defaults in `validate(..., set_default=True)`; `load_params` does the same for code that plans
runs outside Snakemake (benchmarks, the cost estimate, tests), so both see the same configuration.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterable

import yaml

from mtbioner.errors import MtbionerError

PARAMS_FILE = "params.yaml"
SCHEMA_FILE = "workflow/schemas/params.schema.yaml"


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """`overlay` merged over a copy of `base`: mappings key by key, everything else replaced."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise MtbionerError(f"{path}: cannot read ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise MtbionerError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(data, dict):
        raise MtbionerError(f"{path}: expected a mapping of parameters")
    return data


def load_params(root: str | Path = ".", overlays: Iterable[str | Path] = ()) -> dict[str, Any]:
    """params.yaml of `root` with `overlays` (paths relative to `root`) merged over it, schema-validated with
    defaults filled in — the `config` the Snakefile sees for `--configfile OVERLAY...`."""
    from snakemake.utils import validate

    root = Path(root)
    config = _read_yaml(root / PARAMS_FILE)
    for overlay in [*([config["preset"]] if config.get("preset") else []), *overlays]:
        config = deep_merge(config, _read_yaml(root / overlay))
    validate(config, str(root / SCHEMA_FILE), set_default=True)
    return config

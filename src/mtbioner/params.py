"""The workflow's parameters: params.yaml (composed from the presets in config/), overlays, validation.

params.yaml holds the resolved parameters the Snakefile runs with. It is written, never edited: by
`dvc exp run -S preset=NAME -S key=value` (DVC's Hydra composition of config/params.yaml, see .dvc/config)
or by `compose_params`/`write_params` here (`python -m mtbioner.params`, `make params`), which compose the
same way; the committed params.yaml is the paper preset (config/paper.yaml).

Snakemake merges `--configfile` overlays over `configfile:` (nested mappings key by key, lists replaced) and
fills schema defaults in `validate(..., set_default=True)`; `load_params` does the same for code that plans
runs outside Snakemake (benchmarks, the cost estimate, tests), so both see the same configuration.

Every parameter's type, range, default and help text is written once, in the typed models of
`mtbioner.param_model`. A loaded configuration (Snakemake's `config`, a `load_params` result) becomes the typed
`Params` at one door, `as_params`, and planning reads its attributes from there on. The JSON Schema generated
from the models ships inside the package (`resources/params.schema.yaml`, what the Snakefile validates against;
`make params` writes it, a test keeps it fresh); `param_schema` (the command-line options of parameters),
`param_default` and `config_problem` (one-line errors) read it. config/paper.yaml and config/README.md's
parameter reference are written from it too (`write_generated`).
"""

from __future__ import annotations

import copy
import json
import textwrap
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import yaml

from mtbioner.errors import MtbionerError

if TYPE_CHECKING:
    from mtbioner.param_model import Params

PARAMS_FILE = "params.yaml"
#: The schema inside the package (the Snakefile's `validate` names the same file by its repository path).
SCHEMA_RESOURCE = "resources/params.schema.yaml"
SCHEMA_HEADER = """\
# JSON Schema (draft 2020-12, in YAML) of params.yaml and of the overlays in config/. GENERATED from the typed
# parameter models in src/mtbioner/param_model.py (the one home of every type, range, default and help text)
# by `make params`; do not edit. The Snakefile validates the merged config against it with defaults filled in
# (snakemake.utils.validate), so an overlay only states what it changes; every object forbids unknown keys.
"""


def schema_text() -> str:
    """The schema file's text, generated from `mtbioner.param_model.Params`."""
    from mtbioner.param_model import json_schema

    return SCHEMA_HEADER + yaml.safe_dump(json_schema(), sort_keys=False, allow_unicode=True, width=116)


@cache
def _schema_text() -> str:
    return resources.files("mtbioner").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")


def load_schema() -> dict[str, Any]:
    """The parameter schema (a fresh copy: callers may change it)."""
    return _parse_yaml(_schema_text())


def _parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _fill_defaults(node: dict[str, Any]) -> Any:
    """The default of one schema node, with the defaults of its properties filled into a mapping default."""
    value = copy.deepcopy(node.get("default"))
    if isinstance(value, dict):
        for key, sub in node.get("properties", {}).items():
            if "default" in sub and key not in value:
                value[key] = _fill_defaults(sub)
    return value


@cache
def _defaults() -> dict[str, Any]:
    return _fill_defaults({"default": {}, **_parse_yaml(_schema_text())})


def schema_defaults() -> dict[str, Any]:
    """The configuration an empty params file validates to: every default of the schema (= the paper preset)."""
    return copy.deepcopy(_defaults())


def param_choices(section: str, key: str) -> tuple[Any, ...]:
    """The allowed values (`enum`) of one parameter, e.g. `param_choices("train", "precision")`."""
    return tuple(_parse_yaml(_schema_text())["properties"][section]["properties"][key]["enum"])


def param_schema(section: str, key: str) -> dict[str, Any]:
    """The schema of one parameter (type, range, enum, description), e.g. `param_schema("report", "alpha")`."""
    return load_schema()["properties"][section]["properties"][key]


def param_value_problem(section: str, key: str, value: Any) -> str | None:
    """Why `value` is not a valid `section.key` (one line from the schema's rule), or None when it is: the
    check a command-line option of that parameter applies, so it accepts exactly what params.yaml accepts."""
    import jsonschema

    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(param_schema(section, key)).iter_errors(value))
    return None if error is None else error.message


def param_default(*keys: str) -> Any:
    """The schema default of one parameter, e.g. `param_default("train", "loss_weights")` (a copy)."""
    value: Any = _defaults()
    for depth, key in enumerate(keys):
        if not isinstance(value, dict) or key not in value:
            raise KeyError(f"params schema has no default for {'.'.join(keys[:depth + 1])}")
        value = value[key]
    return copy.deepcopy(value)
#: Hydra's config directory and primary config (`hydra.config_dir` and `hydra.config_name` in .dvc/config).
HYDRA_CONFIG_DIR = "config"
HYDRA_CONFIG_NAME = "params"
#: First lines of a params.yaml written by `write_params` (DVC's own writes carry no comments).
PARAMS_HEADER = """\
# Resolved parameters: what the Snakefile runs with and what DVC records. Generated, do not edit: the defaults
# live in the params schema, the presets' changes in config/ (quick.yaml, cpu.yaml). Rewritten by
#   dvc exp run -S preset=NAME -S key=value ...     (Hydra composition of config/params.yaml; .dvc/config)
#   python -m mtbioner.params [preset=NAME] [key=value ...]   (make params; same composition, no run)
# The committed file is the paper preset. Snakemake overlays still merge over it: --configfile config/quick.yaml.
"""


def config_problem(config: dict[str, Any]) -> str | None:
    """The first way `config` breaks the schema, as one line naming where (a dotted key path) and what — for a
    misspelt key, the closest allowed key — or None when it is valid. The Snakefile calls it before
    Snakemake's own validation, whose message dumps the schema around the one key that matters."""
    import difflib

    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return None
    path = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        unknown = [key for key in error.instance if key not in allowed]
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
            return f"unknown parameter {(path + '.') if path else ''}{key} ({hint})"
    message = error.message if len(error.message) <= 200 else error.message[:200] + "…"
    return f"{path or 'the configuration'}: {message}"


def as_params(config: "Params | dict[str, Any]") -> "Params":
    """The typed parameters of a configuration: `config` itself when it is a `Params`, else the mapping
    (Snakemake's merged `config`, a `load_params` or `compose_params` result) validated into one — once per
    distinct mapping, so a DAG parse that hands the same `config` to every helper validates it once. The one
    door through which planning, the CLI and the rules' helpers read parameters (as attributes). The result is
    shared: read it, never change it."""
    from pydantic import ValidationError

    from mtbioner.param_model import Params

    if isinstance(config, Params):
        return config
    key = json.dumps(config, sort_keys=True, default=str)
    if key not in _TYPED:
        try:
            _TYPED[key] = Params.model_validate(config)
        except ValidationError as error:
            first = error.errors()[0]
            raise MtbionerError(f"{'.'.join(map(str, first['loc'])) or 'the configuration'}: {first['msg']}") from None
    return _TYPED[key]


_TYPED: dict[str, Any] = {}

#: The folder that holds one results tree per configuration (`results_root`).
RESULTS_PARENT = "results"


def results_root(config: "Params | dict[str, Any]") -> str:
    """`results/<name>`: where everything the DAG of this configuration writes lives (parameter `name`), so
    that presets never overwrite each other's runs, tables or logs."""
    return f"{RESULTS_PARENT}/{as_params(config).name}"


def unnamed_overlays(paths: Iterable[str | Path]) -> str | None:
    """One line when `--configfile` overlays are given and none of them sets `name`: such a configuration would
    write into the tree of the configuration it is merged over (the paper preset's, results/paper/) and
    Snakemake would retrain those runs with its own settings. None when one names itself (or none is given)."""
    paths = [Path(path) for path in paths]
    if not paths or any("name" in _read_yaml(path) for path in paths):
        return None
    listed = ", ".join(str(path) for path in paths)
    return (f"{listed}: set a top-level `name: ...` in an overlay (its results then go to "
            f"{RESULTS_PARENT}/<name>/), so that it never rewrites the results of the configuration it is merged "
            f"over (the paper preset's: {RESULTS_PARENT}/{param_default('name')}/); stack it after a preset "
            "(--configfile config/quick.yaml yours.yaml) to share that preset's tree")


def merge_overlay(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """`overlay` merged over a copy of `base` by Snakemake's own `update_config`, the function behind
    `--configfile` (mappings key by key, everything else replaced), so that code planning the DAG can never merge
    differently from the DAG. DVC's `-S preset=NAME` composes with Hydra (DVC's own mechanism), which merges the
    same way: tests/test_dvc.py checks each preset's composition against this merge."""
    from snakemake.utils import update_config

    merged = copy.deepcopy(base)
    update_config(merged, copy.deepcopy(overlay))
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


def load_params(root: str | Path = ".", overlays: Iterable[str | Path] = (), validate: bool = True) -> dict[str, Any]:
    """params.yaml of `root` with `overlays` (paths relative to `root`) merged over it, schema-validated with
    defaults filled in — the `config` the Snakefile sees for `--configfile OVERLAY...`. `validate=False` skips
    the schema (it needs Snakemake's validator) for tools on machines without Snakemake, e.g. the bare GPU
    machine of benchmarks/gpu_check.py; params.yaml states every key, so nothing is missing."""
    root = Path(root)
    config = _read_yaml(root / PARAMS_FILE)
    for overlay in overlays:
        config = merge_overlay(config, _read_yaml(root / overlay))
    if not validate:
        return config
    from snakemake.utils import validate as validate_against

    with resources.as_file(resources.files("mtbioner").joinpath(SCHEMA_RESOURCE)) as schema_file:
        validate_against(config, str(schema_file), set_default=True)
    return config


def _compose(root: str | Path, overrides: Iterable[str]):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    config_dir = (Path(root) / HYDRA_CONFIG_DIR).resolve()
    with initialize_config_dir(str(config_dir), version_base=None):
        composed = compose(config_name=HYDRA_CONFIG_NAME, overrides=list(overrides))
    OmegaConf.resolve(composed)
    return composed


def compose_params(root: str | Path = ".", overrides: Iterable[str] = ()) -> dict[str, Any]:
    """The parameters `dvc exp run -S OVERRIDE...` writes to params.yaml: Hydra's composition of
    config/params.yaml (the paper preset, the `preset` group's choice, then `overrides`), resolved.

    `overrides` use Hydra's syntax, as after `-S`: `preset=quick`, `train.epochs=3`, `grid.seeds=[1,2]`."""
    from omegaconf import OmegaConf

    params = OmegaConf.to_container(_compose(root, overrides))
    assert isinstance(params, dict)
    return params


#: The paper preset's file in Hydra's config directory, written from the schema (`paper_preset_text`).
PAPER_PRESET = f"{HYDRA_CONFIG_DIR}/paper.yaml"
PAPER_HEADER = """\
# The paper preset (SPEC.md): every parameter at its default. GENERATED from the defaults in
# src/mtbioner/param_model.py (their one home) by `make params`; do not edit — change a default there and
# regenerate. It is the base every other preset is merged over:
#   Snakemake: params.yaml (the resolved parameters, committed as this preset) + --configfile overlays;
#   DVC:       `dvc exp run -S preset=NAME -S key=value` composes config/params.yaml (Hydra) into params.yaml.
"""


def paper_preset_text() -> str:
    """config/paper.yaml: the schema's defaults section by section, each key under its description."""
    schema = load_schema()
    lines = [PAPER_HEADER.rstrip("\n")]
    for section, values in schema_defaults().items():
        node = schema["properties"][section]
        lines.append("")
        if "description" in node:
            lines += textwrap.wrap(" ".join(node["description"].split()), 114, initial_indent="# ",
                                   subsequent_indent="# ")
        if not isinstance(values, dict):  # a top-level scalar (`name`)
            lines.append(yaml.safe_dump({section: values}, default_flow_style=False).rstrip("\n"))
            continue
        lines.append(f"{section}:")
        for key, value in values.items():
            description = node.get("properties", {}).get(key, {}).get("description")
            if description:
                lines += textwrap.wrap(" ".join(str(description).split()), 112, initial_indent="  # ",
                                       subsequent_indent="  # ")
            # collections in flow style one level down ([a, b], {k: v}), scalars as `key: value`
            dumped = yaml.safe_dump({key: value}, default_flow_style=None if isinstance(value, (dict, list)) else False,
                                    sort_keys=False, width=110, allow_unicode=True)
            lines += [f"  {line}" for line in dumped.rstrip("\n").splitlines()]
    return "\n".join(lines) + "\n"


def write_params(root: str | Path = ".", overrides: Iterable[str] = ()) -> Path:
    """Write the composition to root/params.yaml as DVC writes it (OmegaConf's YAML), under PARAMS_HEADER; it
    composes config/paper.yaml as committed (`write_generated` writes that file, `make params` both in turn)."""
    from omegaconf import OmegaConf

    target = Path(root) / PARAMS_FILE
    target.write_text(PARAMS_HEADER + OmegaConf.to_yaml(_compose(root, overrides)), encoding="utf-8")
    return target


#: config/README.md's parameter reference lies between these lines (`parameter_reference`, `write_generated`).
REFERENCE_FILE = f"{HYDRA_CONFIG_DIR}/README.md"
REFERENCE_BEGIN = "<!-- parameter reference: generated from src/mtbioner/param_model.py by `make params`; do not edit -->"
REFERENCE_END = "<!-- end of the generated parameter reference -->"


def _type_text(node: dict[str, Any]) -> str:
    """A schema node's type in a few words: `integer ≥ 1`, `auto | fp32 | bf16 | fp16`, `list of integer`."""
    if "enum" in node:
        return " \\| ".join("null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
                             for value in node["enum"])
    kinds = node.get("type", "any")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    words = []
    for kind in kinds:
        if kind == "array":
            items = node.get("items", {})
            words.append(f"list of {_type_text(items) if 'properties' not in items else 'mappings'}")
        elif kind == "object" and "additionalProperties" in node and isinstance(node["additionalProperties"], dict):
            words.append(f"mapping to {_type_text(node['additionalProperties'])}"
                         if "properties" not in node["additionalProperties"] else "mapping of name to mapping")
        else:
            words.append(kind)
    bounds = [f"{symbol} {node[key]}" for key, symbol in
              (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"))
              if key in node]
    return " \\| ".join(words) + (f" ({', '.join(bounds)})" if bounds else "")


def parameter_reference() -> str:
    """The generated part of config/README.md: one table per group, a row per parameter (type, default, meaning)."""
    schema = load_schema()
    lines = [REFERENCE_BEGIN, ""]
    for section, node in schema["properties"].items():
        rows = node.get("properties") or {section: node}
        lines += [f"### `{section}`", ""]
        if "properties" in node and node.get("description"):
            lines += [node["description"], ""]
        lines += ["| parameter | type | default | meaning |", "|---|---|---|---|"]
        for key, spec in rows.items():
            name = key if key == section else f"{section}.{key}"
            default = json.dumps(spec["default"], ensure_ascii=False) if "default" in spec else "(none)"
            meaning = str(spec.get("description", "")).replace("|", "\\|").replace("<", "&lt;")
            lines.append(f"| `{name}` | {_type_text(spec)} | `{default}` | {meaning} |")
        lines.append("")
    lines.append(REFERENCE_END)
    return "\n".join(lines)


def write_generated(root: str | Path = ".") -> list[Path]:
    """Write what is generated from the parameter models: the packaged schema, config/paper.yaml and
    config/README.md's parameter reference (`make params`; tests keep the committed files equal)."""
    root = Path(root)
    schema_file = root / "src" / "mtbioner" / SCHEMA_RESOURCE
    schema_file.write_text(schema_text(), encoding="utf-8")
    _schema_text.cache_clear()
    _defaults.cache_clear()
    (root / PAPER_PRESET).write_text(paper_preset_text(), encoding="utf-8")
    readme = root / REFERENCE_FILE
    text = readme.read_text(encoding="utf-8")
    if REFERENCE_BEGIN in text:
        text = text[:text.index(REFERENCE_BEGIN)] + parameter_reference() + text[text.index(REFERENCE_END) + len(REFERENCE_END):]
    else:
        text = text.rstrip("\n") + "\n\n## Parameter reference\n\n" + parameter_reference() + "\n"
    readme.write_text(text, encoding="utf-8")
    return [schema_file, root / PAPER_PRESET, readme]


if __name__ == "__main__":
    import sys

    for path in write_generated("."):
        print(f"wrote {path}")
    print(f"wrote {write_params('.', sys.argv[1:])}")

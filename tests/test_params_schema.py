"""params.yaml, the presets in config/ and the JSON Schema that guards them."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml
from snakemake.utils import update_config

from mtbioner.plan.grid import expand_grid
from mtbioner.params import SCHEMA_RESOURCE, load_schema, param_default, schema_defaults

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = load_schema()
# Parameter files in config/ (usable with --configfile); config/params.yaml is Hydra's recipe for params.yaml.
PRESETS = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "config").glob("*.yaml")
                 if path.name != "params.yaml")


def load(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


def merged(overlay: str | None) -> dict:
    """params.yaml with an overlay deep-merged over it, exactly as Snakemake merges --configfile."""
    config = load("params.yaml")
    if overlay:
        update_config(config, load(overlay))
    return config


def errors(config: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(config)]


def test_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("overlay", [None, *PRESETS])
def test_params_and_presets_validate_and_expand(overlay: str | None) -> None:
    config = merged(overlay)
    assert errors(config) == []
    runs = expand_grid(config)
    assert runs
    for run in runs:
        assert run.config.dataset  # every run resolves to a valid RunConfig


def test_presets_exist() -> None:
    assert {"config/paper.yaml", "config/quick.yaml", "config/cpu.yaml"} <= set(PRESETS)


@pytest.mark.parametrize("path, value, key", [
    (("train",), {"epoch": 3}, "epoch"),
    ((), {"trian": {}}, "trian"),
    (("data",), {"fraction": [100]}, "fraction"),
    (("train", "per_dataset", "NCBI-disease"), {"learnig_rate": 1e-5}, "learnig_rate"),
    (("grid",), {"seed": [1]}, "seed"),
    (("report",), {"bootstrap": 10}, "bootstrap"),
])
def test_typo_is_rejected_naming_the_key(path: tuple[str, ...], value: dict, key: str) -> None:
    config = copy.deepcopy(load("params.yaml"))
    node = config
    for part in path:
        node = node.setdefault(part, {})
    node.update(value)
    found = errors(config)
    assert len(found) == 1 and f"'{key}' was unexpected" in found[0], found


def test_wrong_types_and_ranges_are_rejected() -> None:
    config = load("params.yaml")
    config["grid"]["experiments"] = ["baseline", "pairs"]
    config["data"]["fractions"] = [100, 0]
    config["train"]["warmup_ratio"] = 1.5
    config["model"]["lowercase"] = "yes"
    messages = "\n".join(errors(config))
    assert "'yes' is not one of ['auto', True, False]" in messages
    assert "'pairs' is not one of" in messages
    assert "0 is less than the minimum of 1" in messages
    assert "1.5 is greater than or equal to the maximum of 1" in messages


def test_custom_dataset_entries_need_train_and_test() -> None:
    config = load("params.yaml")
    config["data"]["custom_datasets"] = {"Mine": {"train": "a.tsv"}}
    assert any("'test' is a required property" in message for message in errors(config))
    config["data"]["custom_datasets"] = {"Mine": {"train": "a.tsv", "test": "b.tsv"}}
    assert errors(config) == []


def test_generated_files_are_fresh() -> None:
    """The schema, config/paper.yaml and config/README.md's reference are generated from param_model (make params)."""
    from mtbioner.params import REFERENCE_FILE, paper_preset_text, parameter_reference, schema_text

    assert (ROOT / "src/mtbioner" / SCHEMA_RESOURCE).read_text(encoding="utf-8") == schema_text(), "run make params"
    assert (ROOT / "config" / "paper.yaml").read_text(encoding="utf-8") == paper_preset_text(), "run make params"
    assert parameter_reference() in (ROOT / REFERENCE_FILE).read_text(encoding="utf-8"), "run make params"


@pytest.mark.parametrize("overlay", [None, *PRESETS])
def test_the_typed_model_reads_every_preset(overlay: str | None) -> None:
    """Code that wants typed parameters validates the merged file with param_model.Params, not with the schema."""
    from mtbioner.param_model import Params

    params = Params.model_validate(merged(overlay))
    assert params.model_dump(mode="json", exclude_unset=False).keys() == merged(overlay).keys()


def test_params_yaml_is_the_schema_defaults_in_full() -> None:
    """params.yaml states every default (nothing left to the schema) and nothing else: it is the paper preset."""
    assert load("params.yaml") == schema_defaults()
    assert param_default("train", "loss_weights") == load("params.yaml")["train"]["loss_weights"]
    with pytest.raises(KeyError, match="train.loss_weight"):
        param_default("train", "loss_weight")


def test_snakefile_validates_against_the_packaged_schema() -> None:
    """One schema file: the one shipped in the package is the one the Snakefile validates against."""
    assert (ROOT / "src/mtbioner" / SCHEMA_RESOURCE).is_file()
    assert f'validate(config, "src/mtbioner/{SCHEMA_RESOURCE}"' in (ROOT / "Snakefile").read_text(encoding="utf-8")


def test_quick_preset_is_a_cpu_preset() -> None:
    quick = merged("config/quick.yaml")
    assert quick["model"]["encoder"] == "minilm"
    assert quick["resources"]["train_gpus"] == 0
    assert len(quick["grid"]["seeds"]) == 1
    assert quick["grid"]["experiments"] == load("params.yaml")["grid"]["experiments"], "quick builds every product"
    # An overlay replaces a per-dataset entry key by key: it must set every key the paper preset sets.
    paper_ncbi = load("params.yaml")["train"]["per_dataset"]["NCBI-disease"]
    assert set(quick["train"]["per_dataset"]["NCBI-disease"]) == set(paper_ncbi)

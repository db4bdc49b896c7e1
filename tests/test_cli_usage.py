"""Command-line mistakes on every verb: the usage line, a hint and one `Error: ...` line on stderr, exit status
2, never a traceback (typer >= 0.2x raises its own copy of click's exceptions, which must be caught too)."""

from __future__ import annotations

import pytest
import typer

from mtbioner.cli import app, main


def _verbs(command=None, path=()) -> list[tuple[str, ...]]:
    command = command or typer.main.get_command(app)
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return [path]
    return [verb for name, sub in sorted(subcommands.items()) for verb in _verbs(sub, (*path, name))]


VERBS = _verbs()


def _usage_error(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as stop:
        main(list(argv))
    assert stop.value.code == 2, argv
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    assert err.lstrip().startswith("Usage: ") and len([line for line in err.splitlines() if line.startswith("Error:")]) == 1, err
    return err


def test_every_verb_is_found():
    assert len(VERBS) >= 15 and ("predict",) in VERBS and ("report", "verdicts") in VERBS


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
def test_an_unknown_option_is_one_usage_error(capsys, verb):
    err = _usage_error(capsys, *verb, "--no-such-option")
    assert "No such option: --no-such-option" in err


def test_the_newcomers_mistakes(capsys):
    assert "Missing argument" in _usage_error(capsys, "predict")
    assert "No such option: --modle" in _usage_error(capsys, "predict", "--modle", "x", "y")
    assert "No such command 'nosuchverb'" in _usage_error(capsys, "nosuchverb")
    assert "Missing argument" in _usage_error(capsys, "import-corpus", "--train", "x.tsv")


def _closure(function) -> dict:
    cells = [cell.cell_contents for cell in (getattr(function, "__closure__", None) or ())]
    return dict(zip(getattr(getattr(function, "__code__", None), "co_freevars", ()), cells))


def _params_options():
    """(verb, option name, section, key) of every option built by `param_option` (its callback knows them)."""
    found = []
    for verb in VERBS:
        command = typer.main.get_command(app)
        for name in verb:
            command = command.commands[name]
        for parameter in command.params:
            closure = _closure(getattr(parameter, "callback", None))
            closure = _closure(closure.get("callback")) or closure  # typer wraps the option's own callback
            if {"section", "key"} <= set(closure):
                found.append((verb, parameter.opts[0], closure["section"], closure["key"]))
    return found


def test_parameter_options_say_and_check_what_the_schema_says(capsys):
    """An option that params.yaml also sets (`cli.options.param_option`) shows the schema's description and
    rejects what the schema rejects, with one usage error; no option retypes a parameter's help or range."""
    from mtbioner.params import param_schema

    options = _params_options()
    assert {(section, key) for _, _, section, key in options} >= {
        ("report", "bootstrap_samples"), ("report", "alpha"), ("report", "verdict_samples"),
        ("report", "tsne_perplexity"), ("report", "sentence_metric"), ("data", "subsample_seed")}
    for verb, option, section, key in options:
        command = typer.main.get_command(app)
        for name in verb:
            command = command.commands[name]
        parameter = next(p for p in command.params if option in p.opts)
        assert parameter.help == " ".join(param_schema(section, key)["description"].split()), (verb, option)
    err = _usage_error(capsys, "report", "tables", "run", "--out-dir", "x", "--alpha", "1.0")
    assert "Invalid value for '--alpha'" in err and "(params: report.alpha)" in err
    err = _usage_error(capsys, "report", "figure4", "c.csv", "--out-prefix", "x", "--sentence-metric", "f1")
    assert "'f1' is not one of ['macro_f1', 'accuracy']" in err

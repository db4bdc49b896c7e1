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

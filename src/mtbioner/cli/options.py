"""Command-line options of parameters that params.yaml also sets: their help, range and validity come from the
params schema (their one home), so an option accepts exactly what the workflow accepts and says the same."""

from __future__ import annotations

from typing import Any

import typer

from mtbioner.params import param_schema, param_value_problem


def param_option(section: str, key: str, *, help: str | None = None, **options: Any) -> Any:
    """A typer option for the parameter `section.key`: the schema's description as help (unless `help` is
    given), its inclusive bounds as min/max, and a check of the value against the schema's rule (exclusive
    bounds, enums) that turns a bad value into one usage error naming the option."""
    spec = param_schema(section, key)

    def check(value: Any) -> Any:
        problem = None if value is None else param_value_problem(section, key, value)
        if problem:
            raise typer.BadParameter(f"{problem} (params: {section}.{key})")
        return value

    bounds = {"min": spec.get("minimum"), "max": spec.get("maximum")}
    return typer.Option(help=help or " ".join(str(spec.get("description", "")).split()) or None, callback=check,
                        **{name: value for name, value in bounds.items() if value is not None}, **options)


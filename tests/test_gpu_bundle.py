"""The bundle builder's requirement check (benchmarks/gpu_bundle.py): the device installs the bundle with
--no-deps, so each bundled wheel's declared requirements are checked against the image's package list at build
time, markers evaluated for the image's Python. A real wheel is built here from a tiny project."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import gpu_bundle  # noqa: E402

from mtbioner.errors import MtbionerError  # noqa: E402

PYPROJECT = """\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "needy"
version = "1.0"
dependencies = ["numpy<2.5", "PyYAML>=6", "tomli>=1; python_version < '3.11'", "pywin32; sys_platform == 'win32'",
                "pytest; extra == 'test'"]
optional-dependencies = {test = ["pytest"]}

[tool.setuptools]
py-modules = []
"""


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("needy")
    (project / "pyproject.toml").write_text(PYPROJECT)
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(wheels), str(project)], check=True, capture_output=True, text=True)
    assert [path.name for path in wheels.glob("*.whl")] == ["needy-1.0-py3-none-any.whl"]
    return wheels


def image(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "image-packages.txt"
    path.write_text("# Python there: 3.12.3\n" + text)
    return path


def test_a_requirement_the_image_does_not_meet_fails_the_build_with_the_conflict_named(wheel_dir, tmp_path):
    listed = image(tmp_path, "numpy==2.5.2\npyyaml\n")
    with pytest.raises(MtbionerError) as error:
        gpu_bundle.check_requirements(wheel_dir, listed, "3.12")
    assert str(error.value) == ("the image (image-packages.txt, CPython 3.12) does not meet what the bundled wheels "
                                "require: wheel needy needs numpy<2.5, the image has numpy 2.5.2")


def test_requirements_met_by_the_image_or_left_out_by_their_markers_pass(wheel_dir, tmp_path):
    # numpy 2.4.1 meets <2.5; PyYAML without a listed version counts as there; tomli is for Python < 3.11,
    # pywin32 for Windows and pytest for an extra: none of them applies on the image's CPython 3.12 / Linux
    assert gpu_bundle.check_requirements(wheel_dir, image(tmp_path, "numpy==2.4.1\nPyYAML\n"), "3.12") == []


def test_the_markers_are_the_image_python_s_not_this_one_s(wheel_dir, tmp_path):
    # for a CPython 3.10 image, tomli applies, and neither the image nor the bundle has it
    conflicts, _accepted = gpu_bundle.requirement_conflicts(wheel_dir, {"numpy": "2.4.1", "pyyaml": None}, "3.10")
    assert conflicts == ["wheel needy needs tomli>=1, which neither the image nor the bundle has"]


def test_a_bundled_wheel_meets_a_requirement_before_the_image_does(wheel_dir, tmp_path):
    # a (real, empty) numpy 2.4.0 wheel in the bundle provides numpy, whatever the image's own numpy is
    provider = tmp_path / "provider"
    provider.mkdir()
    (provider / "pyproject.toml").write_text(PYPROJECT.replace('name = "needy"', 'name = "numpy"')
                                             .replace('version = "1.0"', 'version = "2.4.0"')
                                             .split("dependencies")[0] + "[tool.setuptools]\npy-modules = []\n")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "needy-1.0-py3-none-any.whl").write_bytes((wheel_dir / "needy-1.0-py3-none-any.whl").read_bytes())
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(bundle), str(provider)], check=True, capture_output=True, text=True)
    assert gpu_bundle.requirement_conflicts(bundle, {"numpy": "2.5.2", "pyyaml": None}, "3.12") == ([], [])


def test_an_accepted_conflict_is_reported_with_its_reason_not_fatal(wheel_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(gpu_bundle.ACCEPTED_CONFLICTS, ("needy", "numpy"), "a reason")
    assert gpu_bundle.check_requirements(wheel_dir, image(tmp_path, "numpy==2.5.2\npyyaml\n"), "3.12") == [
        "wheel needy needs numpy<2.5, the image has numpy 2.5.2: accepted, a reason"]
    # the one conflict accepted for real: mtbioner's torch pin against the image's own CUDA torch
    assert set(gpu_bundle.ACCEPTED_CONFLICTS) == {("mtbioner", "torch"), ("needy", "numpy")}

"""Build the bundle a lent GPU machine needs to run the pipeline itself, offline, in one device call
(`benchmarks/gpu_run.sh`): what its image lacks, at the versions installed here, and nothing it has.

    .venv/bin/python benchmarks/gpu_bundle.py [--out .gpu] [--python-version 3.12] [--mirror DIR]

Writes into `--out` (default `.gpu`, git-ignored; the device tool carries it with `carry: [".gpu"]`):

    wheels/          every distribution the pipeline imports (mtbioner's runtime requirements and Snakemake,
                     with everything they require) that the image does not list (benchmarks/device/
                     image-packages.txt), pinned to the version installed here, as wheels for the target CPython
                     on x86-64 Linux; sdist-only ones (e.g. connection-pool) built into wheels here; and mtbioner itself
    corpus.tar.gz    <NAME>-IOB/{train,devel,test}.tsv of every dataset the device presets read, Table 1's too
    minilm/          all-MiniLM-L6-v2 with fp16 weights (the fp32 package is over the transfer limit; every load
                     passes dtype=float32, mtbioner.model.encoders.LOAD_DTYPE, so training keeps fp32 weights)
    manifest.json    what is in it: versions, sizes, the target Python, the image list it was built against

The BioC/PubTator formats (`bioc`) add four pure-Python wheels, 92 KiB: bioc, jsonlines and intervaltree
(wheels on the index) and docopt (built from its sdist); their lxml, tqdm, sortedcontainers and attrs are in the
image.

Left out on purpose: DVC and the SLURM executor plugin (the device call runs Snakemake locally), accelerate
(only the CPU benchmark's HF-Trainer baseline needs it, and the image has it), torch (the image's CUDA build),
and PuLP, Snakemake's ILP scheduler (the device call runs `--scheduler greedy`).

Every bundled wheel's declared requirements (Requires-Dist, markers evaluated for the image's CPython on x86-64
Linux) must be met by another bundled wheel or the image's version of it (`image-packages.txt`): the device
installs with --no-deps, so pip would not say; the build fails naming each conflict ("wheel X needs numpy<2.5,
the image has numpy 2.5.2"), except the ones `ACCEPTED_CONFLICTS` names with why (mtbioner's torch pin).

The bundle and the tracked tree together must stay under `--limit-mib` (60: the device call carries at most
64 MiB); the script fails, naming the sizes, when they do not. `--python-version` is the device's CPython
(3.12 per the device tool's KINDS.md); the CPU rehearsal (tests/test_gpu_run.py) builds for the Python running
it. The network is needed only for the wheels (PyPI).
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from email.parser import HeaderParser
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import parse_wheel_filename
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from mtbioner.data.corpus import table1_datasets  # noqa: E402
from mtbioner.errors import MtbionerError  # noqa: E402

IMAGE_LIST = ROOT / "benchmarks" / "device" / "image-packages.txt"
#: Distributions the device call does not need although mtbioner or Snakemake require them (module docstring).
NOT_NEEDED = {"dvc", "snakemake-executor-plugin-slurm", "snakemake-executor-plugin-slurm-jobstep", "accelerate",
              "pulp", "torch", "mtbioner"}
#: Roots of what the device call imports: mtbioner's runtime requirements (read from its installed metadata)
#: and Snakemake, which runs the DAG there.
EXTRA_ROOTS = ("snakemake",)
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64", "linux_x86_64")
MIB = 1024 * 1024


def canonical(name: str) -> str:
    """PEP 503 name: the same distribution however its name is spelt."""
    return re.sub(r"[-_.]+", "-", name).lower()


def image_versions(path: Path = IMAGE_LIST) -> dict[str, str | None]:
    """{canonical name: the image's version, or None where the list gives none}."""
    versions: dict[str, str | None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            versions[canonical(name)] = version.strip() or None
    return versions


def image_packages(path: Path = IMAGE_LIST) -> set[str]:
    return set(image_versions(path))


#: The image's Python, as markers see it (image-packages.txt's header: "Python there: 3.12.3"), on x86-64 Linux,
#: for evaluating the bundled wheels' requirements there rather than here.
IMAGE_PYTHON_FULL = "3.12.3"
#: Requirements a bundled wheel declares that the image knowingly does not meet, with why that is fine there
#: (the bundle installs with --no-deps, so pip would not say): anything else fails the build.
ACCEPTED_CONFLICTS = {
    ("mtbioner", "torch"): "the image's own CUDA torch 2.11 runs the code; the pin (torch==2.13.0, pyproject.toml) "
                           "is for users' installs",
}


def image_environment(python_version: str) -> dict[str, str]:
    """PEP 508 marker values of CPython `python_version` on x86-64 Linux (the device image)."""
    full = IMAGE_PYTHON_FULL if IMAGE_PYTHON_FULL.startswith(python_version + ".") else f"{python_version}.0"
    return {"implementation_name": "cpython", "implementation_version": full, "os_name": "posix",
            "platform_machine": "x86_64", "platform_release": "", "platform_system": "Linux",
            "platform_version": "", "python_full_version": full, "platform_python_implementation": "CPython",
            "python_version": python_version, "sys_platform": "linux", "extra": ""}


def wheel_requirements(wheel: Path) -> list[Requirement]:
    """The Requires-Dist of a wheel's METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        name = next((n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1), None)
        if name is None:
            raise MtbionerError(f"{wheel.name}: no .dist-info/METADATA in the wheel")
        headers = HeaderParser().parsestr(archive.read(name).decode("utf-8"))
    return [Requirement(text) for text in headers.get_all("Requires-Dist") or []]


def requirement_conflicts(wheel_dir: Path, image: dict[str, str | None], python_version: str,
                          not_needed: set[str] = NOT_NEEDED) -> tuple[list[str], list[str]]:
    """(conflicts, accepted): every requirement of every bundled wheel, its markers evaluated for the image's
    Python on x86-64 Linux, met by a bundled wheel or the image's version of it; a requirement on a
    distribution neither has is a conflict unless the device call does not need it (`NOT_NEEDED`). An image
    package without a listed version is taken as meeting it (the list gives no version to check)."""
    environment = image_environment(python_version)
    bundled = {canonical(str(parse_wheel_filename(w.name)[0])): parse_wheel_filename(w.name)[1]
               for w in sorted(wheel_dir.glob("*.whl"))}
    conflicts, accepted = [], []
    for wheel in sorted(wheel_dir.glob("*.whl")):
        owner = canonical(str(parse_wheel_filename(wheel.name)[0]))
        for requirement in wheel_requirements(wheel):
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue
            name = canonical(requirement.name)
            wanted = f"{requirement.name}{requirement.specifier}"
            if name in bundled:
                where, version = "the bundle has", bundled[name]
            elif name in image:
                where, version = "the image has", None if image[name] is None else Version(image[name])
            elif name in not_needed:
                continue
            else:
                conflicts.append(f"wheel {owner} needs {wanted}, which neither the image nor the bundle has")
                continue
            if version is None or requirement.specifier.contains(version, prereleases=True):
                continue
            text = f"wheel {owner} needs {wanted}, {where} {requirement.name} {version}"
            if (owner, name) in ACCEPTED_CONFLICTS:
                accepted.append(f"{text}: accepted, {ACCEPTED_CONFLICTS[owner, name]}")
            else:
                conflicts.append(text)
    return conflicts, accepted


def check_requirements(wheel_dir: Path, image: Path, python_version: str) -> list[str]:
    """The accepted conflicts (`ACCEPTED_CONFLICTS`); an error naming every other one."""
    conflicts, accepted = requirement_conflicts(wheel_dir, image_versions(image), python_version)
    if conflicts:
        raise MtbionerError(f"the image ({image.name}, CPython {python_version}) does not meet what the bundled "
                            "wheels require: " + "; ".join(conflicts))
    return accepted


def runtime_requirements() -> list[Requirement]:
    """mtbioner's own requirements (no extras), from its installed metadata, plus Snakemake."""
    environment = {**default_environment(), "extra": ""}
    requirements = [Requirement(text) for text in metadata.distribution("mtbioner").requires or []]
    requirements = [r for r in requirements if r.marker is None or r.marker.evaluate(environment)]
    return requirements + [Requirement(name) for name in EXTRA_ROOTS]


def closure(roots: list[Requirement], skip: set[str]) -> dict[str, str]:
    """{canonical name: installed version} of the roots and everything they require, as installed here, except
    the names in `skip` (and what only they require). A requirement that is not installed here is an error:
    the bundle pins what this environment runs."""
    environment = {**default_environment(), "extra": ""}
    found: dict[str, str] = {}
    stack = [canonical(r.name) for r in roots]
    while stack:
        name = stack.pop()
        if name in found or name in skip:
            continue
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise MtbionerError(f"{name} is required but not installed here: run `make install` first") from None
        found[name] = distribution.version
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                stack.append(canonical(requirement.name))
    return dict(sorted(found.items()))


def _pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)


def fetch_wheels(needed: dict[str, str], python_version: str, dest: Path) -> dict[str, str]:
    """A wheel of each name==version for the target, {name: how}: binary wheels for CPython `python_version` on
    x86-64 Linux (or pure-Python ones) from the index in one pip call; what has no wheel there (an sdist only,
    e.g. connection-pool) is built here, which only works for pure-Python packages (checked)."""
    platforms = [flag for platform in PLATFORMS for flag in ("--platform", platform)]
    pending = dict(needed)
    how: dict[str, str] = {}
    while pending:
        done = _pip("download", "--quiet", "--no-deps", "--only-binary=:all:", "--python-version", python_version,
                    "--implementation", "cp", *platforms, "--dest", str(dest),
                    *[f"{name}=={version}" for name, version in pending.items()])
        if done.returncode == 0:
            how.update(dict.fromkeys(pending, "downloaded"))
            break
        # pip stops at the first requirement without a wheel: build that one, then ask again for the rest
        missing = re.search(r"No matching distribution found for ([A-Za-z0-9_.\-]+)==", done.stderr)
        if missing is None or canonical(missing.group(1)) not in pending:
            raise MtbionerError(f"pip download failed: {done.stderr.strip().splitlines()[-1:]}")
        name = canonical(missing.group(1))
        how[name] = build_wheel(name, pending.pop(name), python_version, dest)
    return how


def build_wheel(name: str, version: str, python_version: str, dest: Path) -> str:
    """name==version built from its sdist here; refused unless the wheel is pure Python (py3-none-any)."""
    built = _pip("wheel", "--quiet", "--no-deps", "--no-binary", name, "--wheel-dir", str(dest), f"{name}=={version}")
    if built.returncode != 0:
        last = built.stderr.strip().splitlines()
        raise MtbionerError(f"no wheel of {name}=={version} for CPython {python_version} and none could be built: "
                            f"{last[-1] if last else 'pip failed'}")
    wheel = max(dest.glob(f"{name.replace('-', '_')}-{version}-*.whl"), default=None, key=lambda path: path.stat().st_mtime)
    if wheel is None or not wheel.name.endswith("-none-any.whl"):
        raise MtbionerError(f"{name}=={version}: built a wheel for this machine only ({wheel}); it has no wheel for "
                            f"CPython {python_version} on the index")
    return "built"


def project_wheel(dest: Path) -> Path:
    """mtbioner itself, as a wheel built from this tree (the console scripts `mtbioner` included)."""
    done = _pip("wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(dest), str(ROOT))
    if done.returncode != 0:
        raise MtbionerError(f"building the mtbioner wheel failed: {done.stderr.strip().splitlines()[-1:]}")
    return max(dest.glob("mtbioner-*.whl"), key=lambda path: path.stat().st_mtime)


def device_datasets() -> list[str]:
    """Every corpus dataset the device call reads: the device preset's, Table 1's and the GPU check's."""
    from mtbioner.params import load_params

    params = load_params(ROOT, validate=False)
    named = set(params["data"]["datasets"]) | {"BC2GM", "NCBI-disease"}
    return sorted(set(table1_datasets(sorted(named))) | named)


def pack_corpus(mirror: Path, datasets: list[str], archive: Path) -> None:
    with tarfile.open(archive, "w:gz") as tar:
        for dataset in datasets:
            for split in ("train", "devel", "test"):
                path = mirror / f"{dataset}-IOB" / f"{split}.tsv"
                if not path.is_file():
                    raise MtbionerError(f"{path} missing (--mirror names the corpus mirror's data/ folder)")
                tar.add(path, arcname=f"{dataset}-IOB/{split}.tsv")


def minilm_fp16(target: Path) -> None:
    from safetensors.torch import load_file, save_file

    from mtbioner.model.encoders import minilm_path

    source = Path(minilm_path())
    target.mkdir(parents=True)
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (source / name).is_file():
            shutil.copy(source / name, target / name)
    tensors = load_file(source / "model.safetensors")
    save_file({name: tensor.half() if tensor.is_floating_point() else tensor for name, tensor in tensors.items()},
              target / "model.safetensors", metadata={"format": "pt"})


def tree_bytes() -> int:
    """Bytes of the tree the device tool carries besides `carry`: tracked and untracked-not-ignored files (in
    a copy that is no git checkout, every file but the bundle)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:  # not a checkout (the rehearsal's copy): everything but the bundle travels
        return sum(path.stat().st_size for path in ROOT.rglob("*") if path.is_file() and ".gpu" not in path.parts)
    return sum((ROOT / name).stat().st_size for name in listed.stdout.split("\0") if name and (ROOT / name).is_file())


def directory_bytes(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def build(out: Path, python_version: str, mirror: Path, image: Path = IMAGE_LIST, limit_mib: float = 60.0,
          wheels: bool = True) -> dict:
    started = time.time()
    if out.exists():
        shutil.rmtree(out)
    wheel_dir = out / "wheels"
    wheel_dir.mkdir(parents=True)
    needed: dict[str, str] = {}
    # the tree as the device tool carries it, measured before this script builds mtbioner's wheel in it: in a
    # copy that is no git checkout (the CPU rehearsal) the build's own build/ and egg-info would count as tree
    tree = tree_bytes()
    how: dict[str, str] = {}
    own = None
    accepted: list[str] = []
    if wheels:
        needed = closure(runtime_requirements(), image_packages(image) | NOT_NEEDED)
        how = fetch_wheels(needed, python_version, wheel_dir)
        own = project_wheel(wheel_dir)
        accepted = check_requirements(wheel_dir, image, python_version)
    datasets = device_datasets()
    pack_corpus(mirror, datasets, out / "corpus.tar.gz")
    minilm_fp16(out / "minilm")
    sizes = {"wheels": directory_bytes(wheel_dir), "corpus": (out / "corpus.tar.gz").stat().st_size,
             "minilm": directory_bytes(out / "minilm")}
    bundle = sum(sizes.values())
    manifest = {"built": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "python_version": python_version,
                "image_list": str(image.relative_to(ROOT)) if image.is_relative_to(ROOT) else str(image),
                "wheels": {name: {"version": version, "how": how[name]} for name, version in needed.items()},
                "mtbioner_wheel": own.name if own else None,
                "accepted_conflicts": accepted, "datasets": datasets, "bytes": sizes, "bundle_mib": round(bundle / MIB, 2),
                "tree_mib": round(tree / MIB, 2), "total_mib": round((bundle + tree) / MIB, 2),
                "limit_mib": limit_mib, "seconds": round(time.time() - started, 1)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if bundle + tree > limit_mib * MIB:
        raise MtbionerError(f"bundle {bundle / MIB:.1f} MiB + tree {tree / MIB:.1f} MiB = "
                            f"{(bundle + tree) / MIB:.1f} MiB, over the {limit_mib:g} MiB a device call may carry")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / ".gpu", help="bundle folder (replaced)")
    parser.add_argument("--python-version", default="3.12",
                        help="the target CPython, major.minor (the device's: 3.12; the rehearsal's: this one)")
    parser.add_argument("--mirror", type=Path, default=ROOT.parent / "shared" / "datasets" /
                        "MTL-Bioinformatics-2016" / "data", help="the corpus mirror's data/ folder")
    parser.add_argument("--image", type=Path, default=IMAGE_LIST, help="the image's distributions, one per line")
    parser.add_argument("--limit-mib", type=float, default=60.0, help="bundle + tracked tree must stay under this")
    parser.add_argument("--no-wheels", action="store_true",
                        help="corpus and MiniLM only, no network (for a machine that has the packages)")
    args = parser.parse_args(argv)
    try:
        manifest = build(args.out, args.python_version, args.mirror, args.image, args.limit_mib,
                         wheels=not args.no_wheels)
    except MtbionerError as error:
        print(f"gpu_bundle.py: {error}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(manifest['wheels']) + 1} wheels, corpus of {len(manifest['datasets'])} datasets, fp16 "
          f"MiniLM; bundle {manifest['bundle_mib']} MiB + tree {manifest['tree_mib']} MiB = {manifest['total_mib']} "
          f"MiB (limit {manifest['limit_mib']:g}); {manifest['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

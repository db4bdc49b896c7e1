# mtbioner: multi-task biomedical NER (SPEC.md) as one DAG. Table of contents:
#   params.yaml (+ an overlay in config/) -> schema validation -> data, training and report rules.
# Run the CPU preset:   snakemake --cores 2 --configfile config/quick.yaml
# Paper preset (GPU):   snakemake --profile profiles/slurm            (see profiles/README.md)

import sys

from snakemake.utils import min_version, validate

min_version("9.0")


# The resolved parameters (the paper preset as committed; `dvc exp run -S preset=NAME -S key=value` rewrites
# it, see config/params.yaml). Overlays given on the command line (--configfile, --config) merge over it.
# Nothing else is loaded: what params.yaml says (what DVC records) is what runs.
configfile: "params.yaml"


# A mistake in the parameters stops here with one line naming the key (and the closest allowed one for a
# typo); Snakemake's own validation below then fills in the defaults.
from mtbioner.errors import MtbionerError
from mtbioner.params import config_problem, unnamed_overlays

try:
    # An own overlay file must name itself: results/<name>/ is its tree (mtbioner.params.results_root).
    _problem = config_problem(config) or unnamed_overlays(workflow.overwrite_configfiles)
except MtbionerError as _error:
    _problem = str(_error)
if _problem is not None:
    print(f"error: {_problem}", file=sys.stderr, flush=True)
    raise SystemExit(1)
validate(config, "src/mtbioner/resources/params.schema.yaml", set_default=True)


wildcard_constraints:
    dataset=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    experiment=r"[a-z][a-z0-9-]*(@[a-z0-9][a-z0-9-]*)?",  # experiment[@variant] (mtbioner.run.directory)
    fraction=r"\d+",
    seed=r"\d+",


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/tag.smk"


# Captions of Snakemake's own report (`snakemake --report results/<name>/report.zip`); tables and figures carry theirs.
report: "workflow/report/workflow.rst"


# Every final product: Table 1, every run of the grid with its learning curves, and the report's tables,
# figures and report.md (REPORT_TARGETS of report.smk, from mtbioner.plan.targets).
rule all:
    input:
        TABLE1,
        all_metrics(),
        curve_files(),
        REPORT_TARGETS,
    default_target: True

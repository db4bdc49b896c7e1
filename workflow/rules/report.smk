# Report stage: the verdicts on the pre-registered claims, Tables 2-5, Figures 4-6 (with TaskEmb), the DVC
# metrics summary and report.md (all in results/<name>/, the configuration's tree).
# Tables and figures are also marked for Snakemake's own report (in_report, captions in workflow/report/):
# `snakemake --report results/<name>/report.zip` after a run.
# Inputs come from the grid through mtbioner.plan.targets (no hand-written run lists); each rule runs one
# `mtbioner report` verb. A product whose runs the configured grid lacks is not a target (see mtbioner/plan/targets.py).

from mtbioner.plan import targets as report_targets_module

REPORT = report_targets_module.settings(PARAMS)
REPORT_FILES = report_targets_module.report_files(PARAMS)
# Every final product of this stage; the Snakefile's `rule all` and DVC's report stage ask for these.
REPORT_TARGETS = report_targets_module.report_targets(PARAMS)


rule report_tables:
    input:
        report_targets_module.table_metrics(PARAMS),
    output:
        in_report(multiext(results_path("tables/table2"), ".md", ".tex", ".csv"), "Tables", "Table 2", "table2"),
        in_report(multiext(results_path("tables/table3"), ".md", ".tex", ".csv"), "Tables", "Table 3", "table3"),
        in_report(multiext(results_path("tables/table4"), ".md", ".tex", ".csv"), "Tables", "Table 4", "table4"),
        in_report(
            multiext(results_path("tables/fp_rates"), ".md", ".csv"),
            "Tables",
            "False-positive sentences",
            "fp_rates",
        ),
        in_report(results_path("tables/fp_mcnemar.csv"), "Tables", "False-positive sentences", "fp_rates"),
        in_report(results_path("tables/significance.csv"), "Tables", "Significance", "significance"),
    params:
        out_dir=subpath(output[0], parent=True),
        samples=REPORT.bootstrap_samples,
        seed=REPORT.bootstrap_seed,
        alpha=REPORT.alpha,
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/report/tables.log"),
    benchmark:
        results_path("benchmarks/report/tables.tsv")
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "mtbioner report tables {input:q} --out-dir {params.out_dir:q} --samples {params.samples}"
        " --seed {params.seed} --alpha {params.alpha} > {log} 2>&1"


# The verdict on each pre-registered claim (report.claims): its inputs are the runs the claims name, paired
# by seed; the claims travel as a param, so editing one reruns this rule (and says so in the log).
rule report_verdicts:
    input:
        report_targets_module.verdict_metrics(PARAMS),
    output:
        in_report(multiext(REPORT_FILES.verdicts, ".csv", ".md"), "Tables", "Verdicts", "verdicts"),
        counts=REPORT_FILES.sentence_counts,
    params:
        prefix=output_prefix,
        claims=lambda wildcards: shell_quote(json.dumps(report_targets_module.claim_entries(PARAMS), sort_keys=True)),
        samples=REPORT.verdict_samples,
        seed=REPORT.bootstrap_seed,
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/report/verdicts.log"),
    benchmark:
        results_path("benchmarks/report/verdicts.tsv")
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "mtbioner report verdicts {input:q} --claims-json {params.claims} --out-prefix {params.prefix:q}"
        " --samples {params.samples} --seed {params.seed} --counts-out {output.counts:q} > {log} 2>&1"


rule report_metrics:
    input:
        report_targets_module.ner_metrics(PARAMS),
    output:
        REPORT_FILES.summary_json,
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/report/metrics.log"),
    benchmark:
        results_path("benchmarks/report/metrics.tsv")
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "mtbioner report metrics {input:q} --out {output:q} > {log} 2>&1"


rule report_casestudy:
    input:
        report_targets_module.casestudy_metrics(PARAMS),
    output:
        in_report(multiext(results_path("tables/table5"), ".html", ".tex", ".md", ".csv"), "Tables", "Table 5", "table5"),
    params:
        prefix=output_prefix,
        wins=REPORT.casestudy_wins,
        losses=REPORT.casestudy_losses,
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/report/casestudy.log"),
    benchmark:
        results_path("benchmarks/report/casestudy.tsv")
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "mtbioner report casestudy {input:q} --out-prefix {params.prefix:q} --wins {params.wins}"
        " --losses {params.losses} > {log} 2>&1"


# Figure 4 from the learning curves of each dataset's longest joint-max budget (grid.curve_runs); the runs
# themselves only label the panels (label, fraction, seeds).
rule report_figure4:
    input:
        curves=curve_files(),
        runs=report_targets_module.figure4_metrics(PARAMS),
    output:
        in_report(multiext(results_path("figures/figure4"), ".png", ".pdf"), "Figures", "Figure 4", "figure4"),
    params:
        prefix=output_prefix,
        metric=REPORT.sentence_metric,
        runs=lambda wildcards, input: " ".join(f"--run {shell_quote(path)}" for path in input.runs),
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/report/figure4.log"),
    benchmark:
        results_path("benchmarks/report/figure4.tsv")
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "mtbioner report figure4 {input.curves:q} --out-prefix {params.prefix:q} --sentence-metric {params.metric}"
        " {params.runs} > {log} 2>&1"


rule report_figure5:
    input:
        report_targets_module.figure5_metrics(PARAMS),
    output:
        in_report(multiext(results_path("figures/figure5"), ".png", ".pdf", "_gains.csv"), "Figures", "Figure 5", "figure5"),
    params:
        prefix=output_prefix,
        metric=REPORT.sentence_metric,
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/report/figure5.log"),
    benchmark:
        results_path("benchmarks/report/figure5.tsv")
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "mtbioner report figure5 {input:q} --out-prefix {params.prefix:q} --sentence-metric {params.metric}"
        " > {log} 2>&1"


# TaskEmb of one dataset × task: one gradient pass of the single-task model over its training data.
rule report_taskemb:
    input:
        # the run's metrics.json; TaskEmb reads the training file named in the run's config.json
        unpack(lambda wildcards: report_targets_module.taskemb_inputs(PARAMS, wildcards.dataset, wildcards.task)),
    output:
        multiext(results_path("taskemb/{dataset}/{task}"), ".npy", ".json"),
    params:
        prefix=output_prefix,
        max_examples=(
            f"--max-examples {REPORT.taskemb_max_examples}" if REPORT.taskemb_max_examples else ""
        ),
    wildcard_constraints:
        task="|".join(TASKS),  # the task registry's names
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/report/taskemb/{dataset}/{task}.log"),
    benchmark:
        results_path("benchmarks/report/taskemb/{dataset}/{task}.tsv")
    threads: PARAMS.resources.train_threads
    resources:
        gpu=PARAMS.resources.train_gpus,
        mem_mb=PARAMS.resources.train_mem_mb,
        runtime=120,
    shell:
        "OMP_NUM_THREADS={threads} mtbioner report taskemb {input.metrics:q} --task {wildcards.task}"
        " --out-prefix {params.prefix:q} {params.max_examples} > {log} 2>&1"


rule report_figure6:
    input:
        report_targets_module.taskemb_outputs(PARAMS),
    output:
        in_report(multiext(results_path("figures/figure6"), ".png", ".pdf", "_tsne.csv"), "Figures", "Figure 6", "figure6"),
        similarity=in_report(results_path("taskemb/similarity.csv"), "Figures", "Figure 6", "similarity"),
    params:
        prefix=output_prefix,
        perplexity=(f"--perplexity {REPORT.tsne_perplexity}" if REPORT.tsne_perplexity else ""),
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/report/figure6.log"),
    benchmark:
        results_path("benchmarks/report/figure6.tsv")
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "mtbioner report figure6 {input:q} --out-prefix {params.prefix:q} --similarity-out {output.similarity:q}"
        " {params.perplexity} > {log} 2>&1"


rule report_page:
    input:
        products=report_targets_module.page_inputs(PARAMS),
        table1=TABLE1,
        runs=report_targets_module.all_metrics(PARAMS),
    output:
        REPORT_FILES.page,
    params:
        tables=lambda wildcards, output: report_targets_module.beside(output[0], "tables"),
        figures=lambda wildcards, output: report_targets_module.beside(output[0], "figures"),
        taskemb=lambda wildcards, output: report_targets_module.beside(output[0], "taskemb"),
        # the page states which parameter files produced it: params.yaml, then the --configfile overlays
        configfiles=parameter_files_options(),
        note=lambda wildcards: f"--note {shell_quote(REPORT.note)}" if REPORT.note else "",
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/report/page.log"),
    benchmark:
        results_path("benchmarks/report/page.tsv")
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "mtbioner report page {input.runs:q} --out {output:q} --tables-dir {params.tables:q}"
        " --figures-dir {params.figures:q} --taskemb-dir {params.taskemb:q} {params.configfiles} {params.note}"
        " > {log} 2>&1"


# Target of DVC's report stage.
rule all_report:
    input:
        REPORT_TARGETS,

# Training stage: one job trains one run of the grid (mtbioner.plan.grid) into its run directory.


rule train:
    input:
        # the run's RunConfig names them: the dataset's draw of the fraction, or its seed's own draw
        unpack(train_inputs),
    output:
        # metrics.json is written last by the trainer; the other files are what the report reads. The trainer's
        # checkpoints/ (resume after a crash or a time limit) are not outputs, so Snakemake leaves them alone.
        # model/ is written only by the runs that keep one (train.keep_models, see mtbioner.plan.grid.keeps_model):
        # its readers (TaskEmb) depend on metrics.json, which the trainer writes after the model.
        # (RUN: the run directory's layout from mtbioner.run.directory, as patterns)
        metrics=str(RUN.metrics),
        epochs=str(RUN.epochs),
        config=str(RUN.config),
        predictions=str(RUN.predictions),
        sentences=str(RUN.sentences),
    params:
        run_config=run_config_json,
        run_dir=subpath(output.metrics, parent=True),
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/train/{dataset}/{experiment}/frac{fraction}/seed{seed}.log"),
    benchmark:
        results_path("benchmarks/train/{dataset}/{experiment}/frac{fraction}/seed{seed}.tsv")
    threads: PARAMS.resources.train_threads
    resources:
        # gpu=1 on the paper preset: the SLURM executor turns it into --gpus=1 (profiles/slurm-shared asks for a
        # GPU shard instead); locally `--resources gpu=K` lets K trainings share one GPU; CPU presets set 0.
        gpu=PARAMS.resources.train_gpus,
        mem_mb=PARAMS.resources.train_mem_mb,
        runtime=PARAMS.resources.train_runtime,
    shell:
        # OMP_NUM_THREADS bounds torch's CPU threads to the job's share without entering the run config.
        "OMP_NUM_THREADS={threads} mtbioner train --out-dir {params.run_dir:q} --config-json {params.run_config:q}"
        " > {log} 2>&1"


# Target of DVC's `train` stage: every run of the configured grid and the curves.
rule all_runs:
    input:
        all_metrics(),
        curve_files(),



# Per-epoch curves of the four-task model (joint-max at 100 %, seed mean) for `dvc plots`.
rule epoch_curves:
    input:
        curve_runs,
    output:
        results_path("metrics/curves/{dataset}.csv"),
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/epoch_curves/{dataset}.log"),
    benchmark:
        results_path("benchmarks/epoch_curves/{dataset}.tsv")
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "mtbioner curves {input:q} --out {output:q} > {log} 2>&1"

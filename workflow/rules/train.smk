# Training stage: one job trains one run of the grid (mtbioner.grid) into its run directory.


rule train:
    input:
        train="results/data/{dataset}/train.frac{fraction}.jsonl",
        test="results/data/{dataset}/test.jsonl",
        labels="results/data/{dataset}/labels.json",
    output:
        # metrics.json is written last by the trainer; the other files are what the report reads.
        metrics="results/runs/{dataset}/{experiment}/frac{fraction}/seed{seed}/metrics.json",
        epochs="results/runs/{dataset}/{experiment}/frac{fraction}/seed{seed}/epochs.jsonl",
        config="results/runs/{dataset}/{experiment}/frac{fraction}/seed{seed}/config.json",
        model=directory("results/runs/{dataset}/{experiment}/frac{fraction}/seed{seed}/model"),
    params:
        run_config=run_config_json,
        run_dir=subpath(output.metrics, parent=True),
    conda:
        "../envs/mtbioner.yaml"
    log:
        "results/logs/train/{dataset}/{experiment}/frac{fraction}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{dataset}/{experiment}/frac{fraction}/seed{seed}.tsv"
    threads: config["resources"]["train_threads"]
    resources:
        # gpu=1 on the paper preset: the SLURM executor turns it into --gpus=1; CPU presets set train_gpus: 0.
        gpu=config["resources"]["train_gpus"],
        mem_mb=config["resources"]["train_mem_mb"],
        runtime=config["resources"]["train_runtime"],
    shell:
        # OMP_NUM_THREADS bounds torch's CPU threads to the job's share without entering the run config.
        "OMP_NUM_THREADS={threads} mtbioner train --out-dir {params.run_dir:q} --config-json {params.run_config:q}"
        " > {log} 2>&1"


# Target of DVC's `train` stage: every run of the configured grid.
rule all_runs:
    input:
        all_metrics(),

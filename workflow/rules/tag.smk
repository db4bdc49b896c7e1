# Tagging stage: one job tags one input file of `tag.inputs` with the model of `tag.model` (`mtbioner predict`)
# into results/<name>/tagged/<file> plus its figures (tagged/.stats/<file>.json); a summary job gathers them
# into tagged/summary.tsv. Outputs are written atomically, so a killed run leaves no half file and resumes
# with the files still missing; a changed input file (or model, or tag setting) retags that file only.


rule tag:
    input:
        unpack(tag_inputs),
    output:
        tagged=TAGGED.tagged("{file}"),
        stats=TAGGED.stats("{file}"),
    wildcard_constraints:
        file=regex_alternatives(list(TAG_FILES)),
    params:
        model=tag_model_dir(),
        format=TAG.format,
        batch_size=TAG.batch_size,
        precision=TAG.precision,
        device=TAG.device,
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/tag/{file}.log"),
    benchmark:
        results_path("benchmarks/tag/{file}.tsv")
    threads: PARAMS.resources.train_threads
    resources:
        # the training job's resources: `--resources gpu=K` shares a workstation GPU between trainings and
        # taggings alike, and the SLURM profiles give a tagging job what they give a training job
        gpu=PARAMS.resources.train_gpus,
        mem_mb=PARAMS.resources.train_mem_mb,
        runtime=PARAMS.resources.train_runtime,
    shell:
        "OMP_NUM_THREADS={threads} mtbioner predict {input.source:q} --model {params.model:q}"
        " --format {params.format} --batch-size {params.batch_size} --precision {params.precision}"
        " --device {params.device:q} --output {output.tagged:q} --stats {output.stats:q} --no-progress"
        " > {log} 2>&1"


rule tag_summary:
    input:
        tag_stats_files(),
    output:
        TAGGED.summary,
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/tag_summary.log"),
    benchmark:
        results_path("benchmarks/tag_summary.tsv")
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "mtbioner tag-summary {input:q} --out {output:q} > {log} 2>&1"


# Every input of tag.inputs tagged, and the summary (not part of `all`: tagging is an application of a model,
# asked for by name: snakemake all_tag).
rule all_tag:
    input:
        tag_targets,

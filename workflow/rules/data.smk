# Data stage: corpus download (or import of an own corpus) -> prepared JSONL -> nested subsamples; Table 1.


rule download:
    output:
        raw_files(DATA),
    params:
        # Not a tracked param: every source must serve the pinned bytes (SHA-256-verified), so switching
        # data.source between upstream and a mirror reruns nothing; manifest.json records the source used.
        source=download_source,
        out_dir=subpath(output[0], parent=True),
    wildcard_constraints:
        dataset=regex_alternatives(corpus_dataset_names()),
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/download/{dataset}.log"),
    benchmark:
        results_path("benchmarks/download/{dataset}.tsv")
    resources:
        mem_mb=500,
        runtime=30,
    shell:
        "mtbioner download {wildcards.dataset:q} --source {params.source:q} --out-dir {params.out_dir:q} > {log} 2>&1"


# An own corpus: token<TAB>tag files copied, BioC/PubTator files converted; conversion.json counts every
# alignment problem, offsets.jsonl maps each converted sentence's words back to its document.
rule import_corpus:
    input:
        unpack(custom_corpus_files),
    output:
        raw_files(DATA),
        DATA.conversion_report,
        DATA.offsets,
    params:
        files=custom_corpus_options,
        out_dir=subpath(output[0], parent=True),
    wildcard_constraints:
        dataset=regex_alternatives(list(CUSTOM_DATASETS)),
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/import_corpus/{dataset}.log"),
    benchmark:
        results_path("benchmarks/import_corpus/{dataset}.tsv")
    resources:
        mem_mb=500,
        runtime=10,
    shell:
        "mtbioner import-corpus {wildcards.dataset:q} {params.files} --out-dir {params.out_dir:q} > {log} 2>&1"


rule prepare:
    input:
        raw_files(DATA),
    output:
        train=DATA.train,
        test=DATA.test,
        labels=DATA.labels,
    params:
        raw_dir=subpath(input[0], parent=True),
        out_dir=subpath(output.train, parent=True),
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/prepare/{dataset}.log"),
    benchmark:
        results_path("benchmarks/prepare/{dataset}.tsv")
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "mtbioner prepare --raw-dir {params.raw_dir:q} --out-dir {params.out_dir:q} > {log} 2>&1"


rule subsample:
    input:
        DATA.train,
    output:
        expand(DATA_IN_EXPAND.subsample("{fraction}"), fraction=FRACTIONS),
    params:
        fractions=",".join(map(str, FRACTIONS)),
        seed=PARAMS.data.subsample_seed,
        max_sentences=(
            f"--max-sentences {PARAMS.data.max_train_sentences}"
            if PARAMS.data.max_train_sentences
            else ""
        ),
        out_dir=subpath(input[0], parent=True),
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/subsample/{dataset}.log"),
    benchmark:
        results_path("benchmarks/subsample/{dataset}.tsv")
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "mtbioner subsample --train {input:q} --fractions {params.fractions} --seed {params.seed}"
        " {params.max_sentences} --out-dir {params.out_dir:q} > {log} 2>&1"


# data.subsample_per_seed: one nested draw per training seed (mtbioner.data.subsample.draw_seed), read by the
# runs of that seed (mtbioner.plan.grid.train_file); otherwise the same job as `subsample`.
use rule subsample as subsample_per_seed with:
    output:
        expand(DATA_IN_EXPAND.subsample("{fraction}", seed="{{seed}}"), fraction=FRACTIONS),
    params:
        fractions=",".join(map(str, FRACTIONS)),
        seed=subsample_seed_of,
        max_sentences=(
            f"--max-sentences {PARAMS.data.max_train_sentences}"
            if PARAMS.data.max_train_sentences
            else ""
        ),
        out_dir=subpath(output[0], parent=True),
    log:
        results_path("logs/subsample/{dataset}/seed{seed}.log"),
    benchmark:
        results_path("benchmarks/subsample/{dataset}/seed{seed}.tsv")


rule table1:
    input:
        table1_inputs(),
    output:
        in_report(TABLE1, "Tables", "Table 1", "table1"),
    params:
        datasets=table1_datasets_arg(),
        prefix=output_prefix,
        data_dir=prepared_data_root,
    conda:
        "../envs/mtbioner.yaml"
    log:
        results_path("logs/table1/table1.log"),
    benchmark:
        results_path("benchmarks/table1/table1.tsv")
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "mtbioner stats --data-dir {params.data_dir:q} --datasets {params.datasets:q} --out-prefix {params.prefix} > {log} 2>&1"


# Target of DVC's `data` stage: every prepared dataset, its subsamples and Table 1.
rule all_data:
    input:
        expand(DATA.subsample("{fraction}"), dataset=DATASETS, fraction=FRACTIONS),
        expand([DATA.test, DATA.labels], dataset=DATASETS),
        TABLE1,

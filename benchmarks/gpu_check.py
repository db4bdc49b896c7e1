"""GPU check: training throughput and MFU of a BERT-base-shaped MultiTaskModel, one real MiniLM epoch, and the
GPU-hours of the paper preset estimated from the measured throughput.

1. A randomly initialised encoder of BioBERT's shape (12 layers, hidden 768, 12 heads, intermediate 3072,
   vocabulary 28,996, 512 positions; the hub is not reachable on the GPU machines, and throughput does not
   depend on the weights) with `MultiTaskModel` and all four heads is trained for `--steps` timed steps
   (after `--warmup-steps`) on BC2GM batches: real sentences, tokenised by a WordPiece tokenizer built from
   them (`mtbioner.model.encoders.build_wordpiece_tokenizer`), encoded, length-bucketed and collated as the trainer
   does, each step the trainer's step (joint loss, AdamW, warm-up schedule, clipping). Once in fp32 and once
   under bf16 autocast. Printed: sentences/s, tokens/s (non-padding sub-tokens), peak GPU memory and
   MFU = 6 · parameters · tokens / seconds / the GPU's peak dense bf16 FLOP/s (`PEAK_BF16_FLOPS`, or
   `--peak-flops`).
2. One NCBI-disease epoch of MiniLM (or `--ncbi-encoder`) through the real trainer (`mtbioner.training.trainer.train_run`)
   with the paper preset's NCBI-disease settings; its test NER F1.
3. GPU-hours of the paper preset = training sentence-passes / measured sentences/s (bf16 when measured).
   The passes come from `--train-sentence-passes` when given (the hook for `mtbioner.plan.cost`'s counts), else
   from params.yaml: every run of `mtbioner.plan.grid.expand_grid` contributes its training-set size (train ∪
   devel, capped and subsampled as `mtbioner.data.subsample` does) × its epochs, × its tasks for alternating runs
   (one pass per task per epoch). Per-epoch evaluation and model loading are not included.

`--skip-cuda` runs everything on the CPU (with `--layers` etc. and `--steps` small: the test does this) and
skips what needs CUDA (bf16 autocast, GPU memory, the GPU's peak unless `--peak-flops` is given).

    bash benchmarks/gpu_check.sh                      # on a machine with one CUDA GPU
    python benchmarks/gpu_check.py --skip-cuda --layers 2 --hidden-size 64 --heads 2 --intermediate-size 128 \\
        --steps 2 --bc2gm-sentences 64 --ncbi-sentences 24 --ncbi-encoder tiny --out /tmp/gpu_check.json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from transformers import BertConfig, BertModel, get_linear_schedule_with_warmup  # noqa: E402

from mtbioner.model.encoders import build_wordpiece_tokenizer  # noqa: E402
from mtbioner.errors import MtbionerError  # noqa: E402
from mtbioner.data.examples import (Example, entity_types_of, example_from_sentence, ner_label_list,  # noqa: E402
                               read_examples, read_label_file, write_examples)
from mtbioner.plan.cost import grid_cost  # noqa: E402
from mtbioner.plan.grid import find_run, run_config  # noqa: E402
from mtbioner.params import load_params  # noqa: E402
from mtbioner.model.precision import autocast_context  # noqa: E402
from mtbioner.data.iob import read_iob  # noqa: E402
from mtbioner.model.multitask import MultiTaskModel  # noqa: E402
from mtbioner.data.prepare import prepare_dataset  # noqa: E402
from mtbioner.run.config import RunConfig  # noqa: E402
from mtbioner.tasks import TASKS  # noqa: E402
from mtbioner.model.tokenization import collate, encode_examples  # noqa: E402
from mtbioner.training.batching import bucketed_batches  # noqa: E402
from mtbioner.training.trainer import combine_losses, parameter_groups, train_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MIRROR_CANDIDATES = [ROOT / ".gpu" / "data", ROOT / "shared" / "datasets" / "MTL-Bioinformatics-2016" / "data",
                     ROOT.parent / "shared" / "datasets" / "MTL-Bioinformatics-2016" / "data"]

#: Peak dense (no sparsity) bf16 tensor-core FLOP/s by GPU name, from NVIDIA's data sheets; the first entry
#: whose key occurs in `torch.cuda.get_device_name()` applies, so more specific keys come first.
PEAK_BF16_FLOPS: tuple[tuple[str, float], ...] = (
    ("H100 PCIe", 756e12),
    ("H100 NVL", 835e12),
    ("GH200", 989e12),
    ("H200", 989e12),
    ("H100", 989e12),      # H100 SXM ("NVIDIA H100 80GB HBM3")
    ("B200", 2250e12),
    ("A100", 312e12),      # SXM and PCIe alike
    ("L40S", 362e12),
    ("L40", 181e12),
    ("L4", 121e12),
    ("A10", 125e12),       # after A100, which contains "A10"
    ("RTX 4090", 165e12),
)

#: BioBERT v1.1 (BERT-base, cased vocabulary).
BIOBERT_SHAPE = dict(layers=12, hidden_size=768, heads=12, intermediate_size=3072, vocab_size=28996,
                     max_positions=512)


# ------------------------------------------------------------------------------------------------ helpers
def peak_flops_for(gpu_name: str) -> tuple[float, str] | None:
    """(peak dense bf16 FLOP/s, table key) of a GPU by its name; None for a GPU not in the table."""
    for key, flops in PEAK_BF16_FLOPS:
        if key.lower() in gpu_name.lower():
            return flops, key
    return None


def model_flops_utilisation(parameters: int, tokens: int, seconds: float, peak_flops: float) -> float:
    """MFU: 6 · parameters · tokens (forward + backward) per second over the peak."""
    return 6.0 * parameters * tokens / seconds / peak_flops


def gpu_hours(train_sentence_passes: int, sentences_per_second: float) -> float:
    """Hours of training steps for this many sentence-passes at this throughput."""
    return train_sentence_passes / sentences_per_second / 3600.0


def find_mirror(explicit: Path | None) -> Path | None:
    """The corpus mirror's data/ directory (holding <NAME>-IOB/): --mirror, MTBIONER_MIRROR, or beside."""
    if explicit is not None:
        return explicit
    if os.environ.get("MTBIONER_MIRROR"):
        return Path(os.environ["MTBIONER_MIRROR"]) / "data"
    return next((path for path in MIRROR_CANDIDATES if path.is_dir()), None)


def prepared_files(dataset: str, data_root: Path, mirror: Path | None, work: Path) -> dict[str, Path]:
    """train_file (train ∪ devel), test_file and labels_file of a dataset: prepared data, else prepared here
    from the mirror into `work`."""
    prepared = data_root / dataset
    if all((prepared / name).is_file() for name in ("train.jsonl", "test.jsonl", "labels.json")):
        return {"train_file": prepared / "train.jsonl", "test_file": prepared / "test.jsonl",
                "labels_file": prepared / "labels.json"}
    if mirror is None or not (mirror / f"{dataset}-IOB").is_dir():
        raise SystemExit(f"{dataset}: neither prepared data in {prepared} nor a corpus mirror (--mirror)")
    out = work / dataset
    prepare_dataset(mirror / f"{dataset}-IOB", out)
    return {"train_file": out / "train.jsonl", "test_file": out / "test.jsonl", "labels_file": out / "labels.json"}


def sliced(files: dict[str, Path], n_train: int | None, n_test: int | None, work: Path) -> dict[str, Path]:
    """The first n sentences of train and test (None = all), written to `work` when cut."""
    if n_train is None and n_test is None:
        return files
    work.mkdir(parents=True, exist_ok=True)
    out = dict(files)
    for key, limit in (("train_file", n_train), ("test_file", n_test)):
        if limit is not None:
            out[key] = work / Path(files[key]).name
            write_examples(out[key], read_examples(files[key])[:limit])
    return out


def float32_copy(encoder: str, work: Path) -> str:
    """`encoder` as is, unless it is a directory with half-precision safetensors weights (the MiniLM copy
    carried to a GPU machine is fp16 to fit its transfer limit): then an fp32 copy of it in `work`."""
    directory = Path(encoder)
    weights = directory / "model.safetensors"
    if not weights.is_file():
        return encoder
    from safetensors.torch import load_file, save_file

    tensors = load_file(weights)
    if all(tensor.dtype == torch.float32 for tensor in tensors.values()):
        return encoder
    target = work / f"{directory.name}-fp32"
    target.mkdir(parents=True, exist_ok=True)
    for item in directory.iterdir():
        if item.is_file() and item.name != weights.name:
            (target / item.name).write_bytes(item.read_bytes())
    save_file({name: tensor.float() if tensor.is_floating_point() else tensor for name, tensor in tensors.items()},
              target / weights.name, metadata={"format": "pt"})
    return str(target)


# ---------------------------------------------------------------------------------------------- training
@dataclass
class Throughput:
    precision: str
    steps: int
    seconds: float
    sentences: int
    tokens: int
    padded_tokens: int
    peak_memory_gib: float | None
    final_loss: float

    def as_dict(self, parameters: int, peak_flops: float | None) -> dict:
        mfu = (model_flops_utilisation(parameters, self.tokens, self.seconds, peak_flops)
               if peak_flops else None)
        return {"precision": self.precision, "steps": self.steps, "seconds": self.seconds,
                "sentences": self.sentences, "tokens": self.tokens, "padded_tokens": self.padded_tokens,
                "sentences_per_second": self.sentences / self.seconds, "tokens_per_second": self.tokens / self.seconds,
                "padded_tokens_per_second": self.padded_tokens / self.seconds,
                "peak_memory_gib": self.peak_memory_gib, "mfu": mfu, "final_loss": self.final_loss}


def build_model(shape: dict, tokenizer, ner_labels: list[str], seed: int) -> MultiTaskModel:
    config = BertConfig(vocab_size=max(shape["vocab_size"], len(tokenizer)), hidden_size=shape["hidden_size"],
                        num_hidden_layers=shape["layers"], num_attention_heads=shape["heads"],
                        intermediate_size=shape["intermediate_size"], max_position_embeddings=shape["max_positions"],
                        pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    return MultiTaskModel(BertModel(config), TASKS, ner_labels, pooling="max", dropout=0.1)


def measure_training(model: MultiTaskModel, batches: list[dict], device: torch.device, precision: str,
                     warmup_steps: int, learning_rate: float = 5e-5) -> Throughput:
    """The trainer's step (joint loss of all heads, AdamW, linear warm-up/decay, clipping) over `batches`; the
    first `warmup_steps` are not timed."""
    weights = {"ner": 0.8, "mt": 0.1, "bcls": 0.05, "mcls": 0.05}
    model.to(device).train()
    optimizer = torch.optim.AdamW(parameter_groups(model, 0.01), lr=learning_rate)
    scheduler = get_linear_schedule_with_warmup(optimizer, max(1, len(batches) // 10), len(batches))
    cuda = device.type == "cuda"
    sentences = tokens = padded = 0
    started = time.perf_counter()
    loss = torch.zeros(())
    for step, batch in enumerate(batches):
        if step == warmup_steps:
            if cuda:
                torch.cuda.synchronize(device)
                torch.cuda.reset_peak_memory_stats(device)
            started = time.perf_counter()
        batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
        with autocast_context(device, precision):
            losses = model.compute_losses(batch)
        loss = combine_losses(losses, None, weights)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        loss.item()  # the trainer reads the loss every step, and so synchronises every step
        if step >= warmup_steps:
            sentences += batch["input_ids"].shape[0]
            tokens += int(batch["attention_mask"].sum())
            padded += batch["input_ids"].numel()
    if cuda:
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - started
    memory = torch.cuda.max_memory_allocated(device) / 2**30 if cuda else None
    model.to("cpu")
    return Throughput(precision, len(batches) - warmup_steps, seconds, sentences, tokens, padded, memory,
                      float(loss.item()))


def training_examples(dataset: str, data_root: Path, mirror: Path | None) -> tuple[list[Example], list[str]]:
    """(train ∪ devel examples, NER labels) of a dataset: prepared data, else read from the mirror."""
    prepared = data_root / dataset
    if (prepared / "train.jsonl").is_file() and (prepared / "labels.json").is_file():
        return read_examples(prepared / "train.jsonl"), read_label_file(prepared / "labels.json")
    folder = mirror / f"{dataset}-IOB" if mirror is not None else None
    if folder is None or not (folder / "train.tsv").is_file():
        raise SystemExit(f"{dataset}: neither prepared data in {prepared} nor a corpus mirror (--mirror)")
    examples = [example_from_sentence(sentence, f"{split}:{number}") for split in ("train", "devel")
                if (folder / f"{split}.tsv").is_file()
                for number, sentence in enumerate(read_iob(folder / f"{split}.tsv"), start=1)]
    return examples, ner_label_list(entity_types_of(examples))


def bc2gm_batches(examples: list[Example], labels: list[str], shape: dict, batch_size: int, max_length: int,
                  count: int, seed: int):
    """(tokenizer, `count` collated batches): length-bucketed as the trainer's, cycled if there are fewer."""
    tokenizer = build_wordpiece_tokenizer([list(example.tokens) for example in examples], shape["vocab_size"])
    features = encode_examples(examples, tokenizer, labels, max_length)
    order = bucketed_batches([len(feature) for feature in features], batch_size, torch.Generator().manual_seed(seed))
    pad_id = tokenizer.pad_token_id
    batches = [collate([features[index] for index in order[step % len(order)]], pad_id) for step in range(count)]
    return tokenizer, batches


# ----------------------------------------------------------------------------------------------- NCBI epoch
def ncbi_epoch(args, config: dict, device: torch.device, work: Path) -> dict:
    files = prepared_files("NCBI-disease", args.data_root, args.mirror, work / "data")
    files = sliced(files, args.ncbi_sentences, args.ncbi_sentences, work / "ncbi-slice")
    try:
        base = run_config(config, find_run(config, "NCBI-disease", "joint-max", 100,
                                           config.get("grid", {}).get("seeds", [13])[0])).to_json_dict()
    except MtbionerError:  # a params file without that run: the trainer's defaults
        base = {"dataset": "NCBI-disease", "experiment": "joint-max"}
    encoder = float32_copy(args.ncbi_encoder, work)
    run = RunConfig.model_validate({**base, "experiment": "gpu-check", "encoder": encoder, "epochs": 1,
                                    "checkpoint_every_epoch": False, "max_test_sentences": None,
                                    **{key: str(path) for key, path in files.items()}})
    started = time.perf_counter()
    metrics = train_run(run, work / "ncbi-run", device=str(device), progress=False)
    return {"encoder": args.ncbi_encoder, "learning_rate": run.learning_rate, "batch_size": run.batch_size,
            "precision": run.precision, "train_sentences": len(read_examples(files["train_file"])),
            "test_sentences": len(read_examples(files["test_file"])), "wall_seconds": time.perf_counter() - started,
            "train_seconds": metrics["train_seconds"],
            "train_sentences_per_second": metrics["train_sentences_per_second"], "test_ner_f1": metrics["ner"]["f1"]}


# ----------------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100, help="timed training steps per precision")
    parser.add_argument("--warmup-steps", type=int, default=10, help="untimed steps before them")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--device", default="cuda", help="cuda or cuda:N (ignored with --skip-cuda)")
    parser.add_argument("--skip-cuda", action="store_true", help="CPU run: no bf16, GPU memory or GPU peak")
    parser.add_argument("--peak-flops", type=float, help="peak dense bf16 FLOP/s of the GPU (overrides the table)")
    parser.add_argument("--out", type=Path, help="write every number to this JSON file")
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--data-root", type=Path, default=ROOT / "results" / "data",
                        help="prepared data (<dataset>/train.jsonl, ...), used when present")
    parser.add_argument("--mirror", type=Path, default=None, help="corpus mirror data/ with <NAME>-IOB/")
    parser.add_argument("--train-sentence-passes", type=int, default=None,
                        help="training sentence-passes of the paper preset (default: computed from --params)")
    parser.add_argument("--bc2gm-sentences", type=int, default=None, help="first N BC2GM sentences (default all)")
    parser.add_argument("--ncbi-encoder", default="minilm", help="'minilm', 'tiny' or an encoder directory")
    parser.add_argument("--ncbi-sentences", type=int, default=None,
                        help="first N training and test sentences of NCBI-disease (default: the whole epoch)")
    parser.add_argument("--skip-ncbi", action="store_true", help="skip part 2")
    parser.add_argument("--seed", type=int, default=13)
    shape = parser.add_argument_group("encoder shape (default BioBERT v1.1's)")
    shape.add_argument("--layers", type=int, default=BIOBERT_SHAPE["layers"])
    shape.add_argument("--hidden-size", type=int, default=BIOBERT_SHAPE["hidden_size"])
    shape.add_argument("--heads", type=int, default=BIOBERT_SHAPE["heads"])
    shape.add_argument("--intermediate-size", type=int, default=BIOBERT_SHAPE["intermediate_size"])
    shape.add_argument("--vocab-size", type=int, default=BIOBERT_SHAPE["vocab_size"])
    shape.add_argument("--max-positions", type=int, default=BIOBERT_SHAPE["max_positions"])
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup_steps < 0:
        parser.error("--steps must be at least 1 and --warmup-steps at least 0")
    args.mirror = find_mirror(args.mirror)
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.skip_cuda:
        device = torch.device("cpu")
    elif not torch.cuda.is_available():
        raise SystemExit("CUDA is not available here; --skip-cuda runs the check on the CPU")
    else:
        device = torch.device(args.device)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    if args.peak_flops:
        peak, peak_source = args.peak_flops, "--peak-flops"
    else:
        found = peak_flops_for(gpu) if gpu else None
        peak, peak_source = (found[0], f"table entry {found[1]!r}") if found else (None, None)
    shape = {"layers": args.layers, "hidden_size": args.hidden_size, "heads": args.heads,
             "intermediate_size": args.intermediate_size, "vocab_size": args.vocab_size,
             "max_positions": args.max_positions}
    precisions = ["fp32"] if device.type == "cpu" else ["fp32", "bf16"]
    config = load_params(args.params.parent, validate=False)  # no Snakemake on a bare GPU machine
    result: dict = {"device": str(device), "gpu": gpu, "peak_flops": peak, "peak_source": peak_source,
                    "torch": torch.__version__, "shape": shape, "batch_size": args.batch_size,
                    "max_length": args.max_length, "warmup_steps": args.warmup_steps}
    print(f"device {device}" + (f": {gpu}" if gpu else "") + (
        f"; peak dense bf16 {peak / 1e12:.0f} TFLOP/s ({peak_source})" if peak else
        "; peak FLOP/s unknown (MFU not computed; pass --peak-flops)"), flush=True)

    with tempfile.TemporaryDirectory(prefix="mtbioner-gpu-check-") as tmp:
        work = Path(tmp)
        # 1. BERT-base-shaped MultiTaskModel on BC2GM batches, fp32 and bf16 autocast
        examples, labels = training_examples("BC2GM", args.data_root, args.mirror)
        tokenizer, batches = bc2gm_batches(examples[:args.bc2gm_sentences], labels, shape, args.batch_size,
                                           args.max_length, args.warmup_steps + args.steps, args.seed)
        runs = {}
        for precision in precisions:
            model = build_model(shape, tokenizer, labels, args.seed)
            parameters = sum(parameter.numel() for parameter in model.parameters())
            embeddings = sum(parameter.numel() for parameter in model.encoder.embeddings.parameters())
            runs[precision] = measure_training(model, batches, device, precision, args.warmup_steps).as_dict(
                parameters, peak)
            del model
            if device.type == "cuda":
                torch.cuda.empty_cache()
        result.update(parameters=parameters, embedding_parameters=embeddings, train=runs)
        print(f"BERT-base-shaped MultiTaskModel ({shape['layers']} layers, hidden {shape['hidden_size']}, "
              f"{shape['heads']} heads, intermediate {shape['intermediate_size']}, vocabulary "
              f"{max(shape['vocab_size'], len(tokenizer))}), {parameters / 1e6:.1f} M parameters, 4 heads; "
              f"BC2GM batches of {args.batch_size}, max length {args.max_length}, {args.steps} timed steps after "
              f"{args.warmup_steps} warm-up")
        print(f"  {'precision':9} {'sentences/s':>12} {'tokens/s':>12} {'peak GiB':>9} {'MFU':>7}")
        for precision, run in runs.items():
            memory = f"{run['peak_memory_gib']:.2f}" if run["peak_memory_gib"] is not None else "n/a"
            mfu = f"{run['mfu']:.1%}" if run["mfu"] is not None else "n/a"
            print(f"  {precision:9} {run['sentences_per_second']:12.1f} {run['tokens_per_second']:12.0f} "
                  f"{memory:>9} {mfu:>7}", flush=True)

        # 2. one NCBI-disease epoch through the real trainer
        if not args.skip_ncbi:
            ncbi = ncbi_epoch(args, config, device, work)
            result["ncbi"] = ncbi
            print(f"NCBI-disease, {ncbi['encoder']}, 1 epoch through mtbioner.training.trainer ({ncbi['precision']}, lr "
                  f"{ncbi['learning_rate']:g}, batch {ncbi['batch_size']}): {ncbi['train_sentences']} training "
                  f"sentences in {ncbi['train_seconds']:.1f} s ({ncbi['train_sentences_per_second']:.1f} "
                  f"sentences/s), test NER F1 {ncbi['test_ner_f1']:.4f} on {ncbi['test_sentences']} sentences",
                  flush=True)

    # 3. GPU-hours of the paper preset
    if args.train_sentence_passes is not None:
        passes, source, counts = args.train_sentence_passes, "--train-sentence-passes", None
    else:  # the counts of `mtbioner cost` (prepared data, else the mirror's files)
        if args.mirror is not None or find_mirror(None) is not None:
            config["data"]["source"] = str(find_mirror(args.mirror))
        estimate = grid_cost(config, args.data_root)
        passes = estimate.train_passes
        counts = {dataset: train for dataset, (train, _test) in estimate.sizes.items()}
        source = f"mtbioner.plan.cost of {args.params.name}: {len(estimate.runs)} runs"
    basis = "bf16" if "bf16" in runs else "fp32"
    hours = {precision: gpu_hours(passes, run["sentences_per_second"]) for precision, run in runs.items()}
    result["paper_estimate"] = {"train_sentence_passes": passes, "source": source, "sentence_counts": counts,
                                "precision": basis, "sentences_per_second": runs[basis]["sentences_per_second"],
                                "gpu_hours": hours[basis], "gpu_hours_by_precision": hours}
    others = ", ".join(f"{value:,.1f} at {precision}" for precision, value in hours.items() if precision != basis)
    print(f"paper preset: {passes:,} training sentence-passes ({source}) -> {hours[basis]:,.1f} GPU-hours of "
          f"training steps at the {basis} throughput" + (f" ({others})" if others else "")
          + "; per-epoch evaluation not included")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()

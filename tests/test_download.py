"""Downloads against a local HTTP server on 127.0.0.1 that misbehaves in the ways real servers do."""

from __future__ import annotations

import http.server
import threading
from collections import defaultdict
from pathlib import Path

import pytest

from mtbioner.data.corpus import corpus_datasets, download_dataset, expected_digests
from mtbioner.errors import MtbionerError

DATASET = "NCBI-disease"


class FlakyCorpusServer:
    """Serves the mirror under /data/<NAME>-IOB/<split>.tsv; `plans[path]` lists what each request gets."""

    def __init__(self, mirror_data: Path) -> None:
        self.mirror_data = mirror_data
        self.plans: dict[str, list[str]] = {}
        self.requests: dict[str, int] = defaultdict(int)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):  # noqa: N802 (http.server API)
                relative = self.path.removeprefix("/data/")
                server.requests[relative] += 1
                plan = server.plans.get(relative, [])
                action = plan.pop(0) if plan else "ok"
                body = (server.mirror_data / relative).read_bytes()
                if action == "503":
                    self.send_error(503, "Service Unavailable")
                    return
                if action == "404":
                    self.send_error(404, "Not Found")
                    return
                if action == "html":
                    body = b"<!DOCTYPE html><html><body>rate limited</body></html>"
                if action == "wrong":
                    body = body.replace(b"B-Disease", b"I-Disease", 1)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # "truncate": announce the full length, then close the connection half-way.
                self.wfile.write(body[: len(body) // 2] if action == "truncate" else body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/data"

    def __enter__(self) -> "FlakyCorpusServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def no_sleep(seconds: float) -> None:
    pass


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_transient_failures_and_truncation_are_retried(mirror_data, tmp_path):
    with FlakyCorpusServer(mirror_data) as server:
        server.plans[f"{DATASET}-IOB/train.tsv"] = ["503", "truncate"]
        server.plans[f"{DATASET}-IOB/test.tsv"] = ["html"]
        download_dataset(DATASET, tmp_path, server.url, sleep=no_sleep)
    assert server.requests[f"{DATASET}-IOB/train.tsv"] == 3
    assert server.requests[f"{DATASET}-IOB/test.tsv"] == 2
    for split in ("train", "devel", "test"):
        assert (tmp_path / f"{split}.tsv").read_bytes() == (mirror_data / f"{DATASET}-IOB" / f"{split}.tsv").read_bytes()
    assert files_in(tmp_path) == ["devel.tsv", "test.tsv", "train.tsv"]


def test_wrong_bytes_are_rejected_and_leave_no_file(mirror_data, tmp_path):
    with FlakyCorpusServer(mirror_data) as server:
        server.plans[f"{DATASET}-IOB/train.tsv"] = ["wrong"] * 3
        with pytest.raises(MtbionerError, match="SHA-256 mismatch") as caught:
            download_dataset(DATASET, tmp_path, server.url, attempts=3, sleep=no_sleep)
    assert f"{DATASET}-IOB/train.tsv" in str(caught.value)
    assert files_in(tmp_path) == []  # nothing half-written or unverified, not even a temporary file


def test_persistent_truncation_is_rejected_without_partial_file(mirror_data, tmp_path):
    with FlakyCorpusServer(mirror_data) as server:
        server.plans[f"{DATASET}-IOB/devel.tsv"] = ["truncate"] * 2
        with pytest.raises(MtbionerError, match="IncompleteRead"):
            download_dataset(DATASET, tmp_path, server.url, attempts=2, sleep=no_sleep)
    assert files_in(tmp_path) == ["train.tsv"]  # train was complete and verified; devel never appears


def test_not_found_is_not_retried(mirror_data, tmp_path):
    with FlakyCorpusServer(mirror_data) as server:
        server.plans[f"{DATASET}-IOB/train.tsv"] = ["404"]
        with pytest.raises(MtbionerError, match="HTTP 404"):
            download_dataset(DATASET, tmp_path, server.url, sleep=no_sleep)
    assert server.requests[f"{DATASET}-IOB/train.tsv"] == 1


def test_backoff_doubles(mirror_data, tmp_path):
    waits = []
    with FlakyCorpusServer(mirror_data) as server:
        server.plans[f"{DATASET}-IOB/train.tsv"] = ["503", "503", "503"]
        download_dataset(DATASET, tmp_path, server.url, backoff=0.5, sleep=waits.append)
    assert waits == [0.5, 1.0, 2.0]


def test_mirror_directory_works_as_corpus_root_or_data_folder(mirror_root, tmp_path):
    download_dataset("BC5CDR-chem", tmp_path / "a", str(mirror_root))
    download_dataset("BC5CDR-chem", tmp_path / "b", str(mirror_root / "data"))
    assert (tmp_path / "a" / "test.tsv").read_bytes() == (tmp_path / "b" / "test.tsv").read_bytes()


def test_mirror_with_modified_file_is_rejected(mirror_data, tmp_path):
    fake = tmp_path / "mirror" / f"{DATASET}-IOB"
    fake.mkdir(parents=True)
    for split in ("train", "devel", "test"):
        (fake / f"{split}.tsv").write_bytes((mirror_data / f"{DATASET}-IOB" / f"{split}.tsv").read_bytes())
    (fake / "test.tsv").write_bytes(b"x\tO\n\n")
    with pytest.raises(MtbionerError, match="does not match commit"):
        download_dataset(DATASET, tmp_path / "out", str(tmp_path / "mirror"))
    assert files_in(tmp_path / "out") == ["devel.tsv", "train.tsv"]


def test_digests_cover_every_dataset_and_unknown_names_list_valid_ones():
    assert len(corpus_datasets()) == 31
    assert len(expected_digests()) == 93
    with pytest.raises(MtbionerError, match="unknown dataset 'BC2': not in the corpus; did you mean 'BC2GM'\\?"):
        download_dataset("BC2", "unused")
    # nothing close: the valid names are listed
    with pytest.raises(MtbionerError, match="unknown dataset 'zzz'.*MTL-Bioinformatics-2016 has: .*BC2GM.*NCBI-disease"):
        download_dataset("zzz", "unused")


def test_downloaded_files_get_normal_permissions(mirror_root, tmp_path):
    import os
    import stat

    download_dataset(DATASET, tmp_path, str(mirror_root))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "train.tsv").stat().st_mode) == 0o666 & ~mask

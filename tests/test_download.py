"""Downloading the standard datasets, against a local HTTP server this file starts (never the
internet): checksums, resumed and restarted transfers, mirrors, the offline message, CIFAR-10's
binary archive, and LeNet on MNIST end to end (tiny files in the real formats).

The server listens on 127.0.0.1 on a free port, serves bytes the test made, and shuts itself down
after a minute even if a test forgets to.
"""

import gzip
import hashlib
import io
import os
import socket
import struct
import subprocess
import sys
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import torch

from studio.core.fileformat import load
from studio.engine.library import data, download
from tests.helpers import EXAMPLES, ROOT

DIGITS = ROOT / "resources" / "data"


class FileServer:
    """Serves ``files`` (URL path -> bytes) with HTTP Range support; records every request.

    ``cut`` (path -> bytes) makes the next GET of that path stop after so many bytes, with the
    full Content-Length promised (an interrupted transfer). ``no_range`` ignores Range headers
    (answers 200 with the whole file). ``missing`` answers 404.
    """

    def __init__(self, lifetime=60.0):
        self.files, self.cut, self.requests = {}, {}, []
        self.no_range, self.missing = set(), set()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802 - http.server's name
                owner.requests.append((self.path, self.headers.get("Range")))
                body = owner.files.get(self.path)
                if body is None or self.path in owner.missing:
                    self.send_error(404)
                    return
                start = 0
                wanted = self.headers.get("Range")
                if wanted and self.path not in owner.no_range:
                    start = int(wanted.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:]
                if self.path in owner.cut:
                    payload = payload[: owner.cut.pop(self.path)]
                    self.close_connection = True
                self.wfile.write(payload)
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.timer = threading.Timer(lifetime, self.server.shutdown)
        self.timer.daemon = True

    def __enter__(self):
        self.thread.start()
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def server():
    with FileServer() as running:
        yield running


def sha256(payload: bytes) -> str:
    return "sha256:" + hashlib.sha256(payload).hexdigest()


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    return header + array.tobytes()


def tiny_mnist() -> dict:
    """MNIST's four files (gzip IDX) holding the bundled 8x8 digits drawn at 28x28: 1,500
    training and 297 test images with their real labels."""
    digits = data.load_digits(DIGITS, size=28)
    images = torch.cat([digits.train[0], digits.test[0]])[:, 0]
    pixels = (images * 255).round().to(torch.uint8).numpy()
    labels = torch.cat([digits.train[1], digits.test[1]]).numpy().astype(np.uint8)
    return {
        "train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(pixels[:1500]), 6, mtime=0),
        "train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(labels[:1500]), 6, mtime=0),
        "t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(pixels[1500:]), 6, mtime=0),
        "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(labels[1500:]), 6, mtime=0),
    }


def serve_set(server, monkeypatch, name, files, prefix="/mirror/"):
    """Serve a standard set's files and point the library's constants at this server."""
    for file, payload in files.items():
        server.files[prefix + file] = payload
    monkeypatch.setitem(data.DatasetSources.MIRRORS, name, (server.url + prefix,))
    monkeypatch.setitem(data.DatasetSources.FILES, name, {f: sha256(p) for f, p in files.items()})


# ---------------------------------------------------------------- one file


def test_download_checks_places_atomically_and_reports_progress(server, tmp_path):
    payload = os.urandom(300_000)
    server.files["/a.bin"] = payload
    seen = []
    target = tmp_path / "cache" / "a.bin"
    out = data.download_file(
        [server.url + "/a.bin"],
        target,
        sha256(payload),
        progress=lambda label, done, total: seen.append((label, done, total)),
    )
    assert out == target and target.read_bytes() == payload
    assert not (tmp_path / "cache" / "a.bin.partial").exists()
    assert seen[-1] == ("a.bin", len(payload), len(payload))
    assert [d for _, d, _ in seen] == sorted(d for _, d, _ in seen)
    # present: no second request
    data.download_file([server.url + "/a.bin"], target, sha256(payload))
    assert len(server.requests) == 1


def test_md5_checksums_work_too(server, tmp_path):
    server.files["/b.bin"] = b"studio" * 1000
    data.download_file(
        [server.url + "/b.bin"], tmp_path / "b.bin", "md5:" + hashlib.md5(b"studio" * 1000).hexdigest()
    )
    assert (tmp_path / "b.bin").read_bytes() == b"studio" * 1000


def test_interrupted_download_resumes_with_a_range_request(server, tmp_path):
    payload = os.urandom(200_000)
    server.files["/c.bin"] = payload
    server.cut["/c.bin"] = 70_000
    target = tmp_path / "c.bin"
    data.download_file([server.url + "/c.bin"], target, sha256(payload))
    assert target.read_bytes() == payload
    assert server.requests == [("/c.bin", None), ("/c.bin", "bytes=70000-")]


def test_a_partial_file_left_by_an_earlier_run_is_resumed(server, tmp_path):
    payload = os.urandom(50_000)
    server.files["/d.bin"] = payload
    (tmp_path / "d.bin.partial").write_bytes(payload[:20_000])
    data.download_file([server.url + "/d.bin"], tmp_path / "d.bin", sha256(payload))
    assert (tmp_path / "d.bin").read_bytes() == payload
    assert server.requests == [("/d.bin", "bytes=20000-")]


def test_a_server_without_ranges_makes_a_clean_restart(server, tmp_path):
    payload = os.urandom(80_000)
    server.files["/e.bin"] = payload
    server.no_range.add("/e.bin")
    (tmp_path / "e.bin.partial").write_bytes(b"junk" * 100)
    data.download_file([server.url + "/e.bin"], tmp_path / "e.bin", sha256(payload))
    assert (tmp_path / "e.bin").read_bytes() == payload


def test_wrong_checksum_retries_then_fails_without_leaving_a_file(server, tmp_path):
    server.files["/f.bin"] = b"not what was promised"
    target = tmp_path / "f.bin"
    with pytest.raises(OSError) as info:
        data.download_file([server.url + "/f.bin"], target, sha256(b"the real file"), attempts=2)
    assert "sha256" in str(info.value) and "f.bin" in str(info.value)
    assert not target.exists() and not (tmp_path / "f.bin.partial").exists()
    assert len(server.requests) == 2


def test_the_next_mirror_is_tried_after_a_404(server, tmp_path):
    server.files["/second/g.bin"] = b"g" * 5000
    urls = [server.url + "/first/g.bin", server.url + "/second/g.bin"]
    data.download_file(urls, tmp_path / "g.bin", sha256(b"g" * 5000))
    assert [p for p, _ in server.requests] == ["/first/g.bin", "/second/g.bin"]


def test_offline_message_names_the_url_and_the_folder(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/mnist/train-images-idx3-ubyte.gz"
    target = tmp_path / "cache" / "mnist" / "train-images-idx3-ubyte.gz"
    with pytest.raises(OSError) as info:
        data.download_file([url], target, sha256(b"x"), attempts=1, timeout=2)
    message = str(info.value)
    assert url in message and str(target) in message and "offline" in message
    assert "STUDIO_DATA_DIR" in message and not target.exists()


def test_progress_bar_draws_a_line_per_quarter_in_a_log():
    stream = io.StringIO()
    bar = data.ProgressBar(stream)
    for done in range(0, 1001, 10):
        bar("x.gz", done, 1000)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 5 and lines[-1].startswith("x.gz [####") and "100%" in lines[-1]


# ---------------------------------------------------------------- standard sets


def test_mnist_downloads_into_the_cache_and_loads(server, monkeypatch, tmp_path):
    serve_set(server, monkeypatch, "mnist", tiny_mnist())
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "cache"))
    assert not download.is_cached("mnist")
    mnist = data.load_standard("mnist", progress=False)
    assert download.is_cached("mnist") and (tmp_path / "cache" / "mnist").is_dir()
    image, label = mnist.train
    assert image.shape == (1500, 1, 28, 28) and mnist.test[0].shape == (297, 1, 28, 28)
    assert label.dtype == torch.int64 and set(label.tolist()) == set(range(10))
    assert mnist.class_names == tuple("0123456789") and mnist.classes == 10
    assert 0.0 <= float(image.min()) and float(image.max()) == 1.0
    # the cache is used from now on: no more requests, and a resize on load
    before = len(server.requests)
    again = data.load_standard(
        "mnist", size=32, channels=3, value_range=(-1.0, 1.0), val_fraction=0.1, progress=False
    )
    assert len(server.requests) == before
    assert again.train[0].shape == (1350, 3, 32, 32) and len(again.validation[0]) == 150
    assert float(again.train[0].min()) == pytest.approx(-1.0)


def test_cache_dir_argument_beats_the_environment(server, monkeypatch, tmp_path):
    serve_set(server, monkeypatch, "kmnist", tiny_mnist())
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "env"))
    folder = data.fetch_standard("kmnist", tmp_path / "mine")
    assert folder == tmp_path / "mine" / "kmnist" and not (tmp_path / "env").exists()
    assert download.is_cached("kmnist", tmp_path / "mine")


def test_a_truncated_file_in_the_cache_is_named(tmp_path):
    folder = tmp_path / "fashion_mnist"
    folder.mkdir()
    for name, payload in tiny_mnist().items():
        (folder / name).write_bytes(payload)
    damaged = folder / "t10k-images-idx3-ubyte.gz"
    damaged.write_bytes(gzip.compress(gzip.decompress(damaged.read_bytes())[:-100]))
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz: truncated IDX file"):
        data.load_standard("fashion_mnist", cache_dir=tmp_path, progress=False)


def cifar_archive(per_batch=20, extra_members=()) -> tuple[bytes, np.ndarray]:
    """A cifar-10-binary.tar.gz with `per_batch` records in each of its six batch files."""
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    records = []
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        names = [f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]
        for name in names:
            record = np.concatenate(
                [rng.integers(0, 10, (per_batch, 1)), rng.integers(0, 256, (per_batch, 3072))], 1
            ).astype(np.uint8)
            records.append(record)
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = record.nbytes
            tar.addfile(info, io.BytesIO(record.tobytes()))
        for member, payload in extra_members:
            info = tarfile.TarInfo(member)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue(), np.stack(records)


def test_cifar10_binary_archive_is_extracted_by_name_and_loaded(server, monkeypatch, tmp_path):
    archive, records = cifar_archive(extra_members=[("../escaped.txt", b"never written")])
    serve_set(server, monkeypatch, "cifar10", {"cifar-10-binary.tar.gz": archive})
    cifar = data.load_standard("cifar10", cache_dir=tmp_path / "cache", progress=False)
    folder = tmp_path / "cache" / "cifar10"
    assert sorted(p.name for p in folder.iterdir()) == sorted(data.DatasetSources.CIFAR_BATCHES)
    assert not (tmp_path / "cache" / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()
    image, label = cifar.train
    assert image.shape == (100, 3, 32, 32) and cifar.test[0].shape == (20, 3, 32, 32)
    assert cifar.class_names[0] == "airplane" and cifar.class_names[9] == "truck"
    # record 0 of the first batch: label byte, then the red, green and blue planes
    first = records[0][0]
    assert int(label[0]) == first[0]
    expected = torch.from_numpy(first[1:].reshape(3, 32, 32).astype(np.float32) / 255)
    assert torch.allclose(image[0], expected)
    grey = data.load_standard("cifar10", cache_dir=tmp_path / "cache", channels=1, size=16, progress=False)
    assert grey.train[0].shape == (100, 1, 16, 16)


def test_a_cifar_archive_without_the_batches_is_refused(server, monkeypatch, tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"pkl!"))
    serve_set(server, monkeypatch, "cifar10", {"cifar-10-binary.tar.gz": buffer.getvalue()})
    with pytest.raises(ValueError, match="binary version"):
        data.fetch_standard("cifar10", tmp_path)


def test_download_cli_fetches_and_reports_offline_in_one_line(server, monkeypatch, tmp_path, capsys):
    serve_set(server, monkeypatch, "mnist", tiny_mnist())
    assert download.main(["mnist", "--cache-dir", str(tmp_path)]) == 0
    assert str(tmp_path / "mnist") in capsys.readouterr().out
    monkeypatch.setitem(data.DatasetSources.MIRRORS, "kmnist", (server.url + "/nothing/",))
    assert download.main(["kmnist", "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "HTTP 404" in err[0] and str(tmp_path / "kmnist") in err[0]


# ---------------------------------------------------------------- LeNet on MNIST


def test_lenet_mnist_example_trains_on_the_real_mnist_when_it_is_cached():
    if not download.is_cached("mnist"):
        pytest.skip(
            f"MNIST is not in the dataset cache ({download.cache_folder() / 'mnist'}); "
            "fetch it with `python -m studio.engine.library.download mnist`"
        )
    from studio.engine.runner import RunConfig
    from studio.engine.trainer import train_project

    result = train_project(load(EXAMPLES / "lenet_mnist.studio"), RunConfig(steps=300),
                           progress=False)
    assert result.evaluation["test_accuracy"] > 0.9


def test_lenet_mnist_example_end_to_end_against_the_local_server(server, monkeypatch, tmp_path):
    """Download (through the app's prepare step), train in Studio, then run the exported
    train.py on the same cache, all on tiny MNIST files served locally."""
    from studio.cli import main as cli
    from studio.engine.runner import RunConfig
    from studio.engine.trainer import train_project

    serve_set(server, monkeypatch, "mnist", tiny_mnist())
    cache = tmp_path / "cache"
    monkeypatch.setenv("STUDIO_DATA_DIR", str(cache))
    project = load(EXAMPLES / "lenet_mnist.studio")
    assert download.standard_sets_of(project) == [("mnist", None)]
    seen = []
    folders = download.prepare_project(project, progress=lambda *a: seen.append(a))
    assert folders == [cache / "mnist"] and {label for label, _, _ in seen} == set(tiny_mnist())
    project.training.settings["batch_size"] = 32  # small steps: this is about the data path
    result = train_project(project, RunConfig(steps=60), progress=False)
    assert result.evaluation["test_accuracy"] > 0.5  # 297 held-out digits, chance is 0.1

    out = tmp_path / "export"
    assert cli(["export", str(EXAMPLES / "lenet_mnist.studio"), "--out", str(out)]) == 0
    env = dict(os.environ, STUDIO_DATA_DIR=str(cache), PYTHONPATH="")
    proc = subprocess.run(
        [sys.executable, "train.py", "--steps", "5", "--device", "cpu"],
        cwd=out,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "test_accuracy" in proc.stdout

"""A cached result is served only while every file the claim read still has the bytes it read: a spec or weights
file saved over (another network), edited or removed makes the entry stale, and the claim runs again."""

from __future__ import annotations

import json

import theory
from checks import Cache, Result
from tests.checks.plugin.test_run import run_cli
from theory.io import FileRead, file_digest, recording_reads

SPEC_CLAIM = """
import os, checks, numerics

@checks.claim("stale.sup", statement="the network's output 0 is x0 on [-1, 1]", source="t", kind="exact",
              cost={"quick": 1, "full": 1})
def sup(ctx):
    net, _ = numerics.load_module(os.environ["SPEC_DIR"])
    with open(os.environ["COUNT_FILE"], "a") as f:
        f.write("ran\\n")
    return checks.expect_sup_error(net, "x0", (-1, 1), eps=0.01, ctx=ctx)
"""

MEMORY_CLAIM = """
import os, torch, checks, numerics

@checks.claim("memory.sup", statement="a small trained network is within 2 of x0 x1 on [-1, 1]^2", source="t",
              kind="exact", cost={"quick": 1, "full": 1})
def sup(ctx):
    torch.manual_seed(int(os.environ["TRAIN_SEED"]))  # the same code, retrained from another seed in memory
    model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1)).double()
    x = 2 * torch.rand(64, 2, dtype=torch.float64) - 1
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(20):
        opt.zero_grad()
        ((model(x)[:, 0] - x[:, 0] * x[:, 1]) ** 2).mean().backward()
        opt.step()
    return checks.expect_sup_error(numerics.from_torch(model, (1, 2)), "x0*x1", (-1, 1), eps=2, ctx=ctx)
"""


def _entry_reads(cache: Cache, key: str) -> list[dict[str, str]]:
    return json.loads((cache.root / key[:2] / key / "reads.json").read_text())


def test_cache_serves_an_entry_only_while_its_files_are_unchanged(tmp_path):
    data = tmp_path / "data.json"
    data.write_text('{"w": 1}')
    with recording_reads() as reads:
        assert theory.io.read_json(data) == {"w": 1}
    assert reads == [FileRead(str(data.resolve()), file_digest(data))]
    cache = Cache(tmp_path / "c")
    key = "ab" + "0" * 62
    assert cache.put(key, Result("pass", observed={"v": 1}), [], reads)
    assert _entry_reads(cache, key) == [r.to_json() for r in reads]
    assert cache.get(key, tmp_path / "into") == (Result("pass", observed={"v": 1}), (str(data.resolve()),))
    data.write_text('{"w": 2}')
    assert cache.get(key, tmp_path / "into") is None
    assert cache.stale[key] == [f"{data.resolve()} (changed)"]
    data.write_text('{"w": 1}')  # the same bytes again: the entry is about them
    assert cache.get(key, tmp_path / "into") is not None
    data.unlink()
    assert cache.get(key, tmp_path / "into") is None and cache.stale[key] == [f"{data.resolve()} (missing)"]


def test_entry_without_its_reads_is_not_served(tmp_path):
    """An entry whose record of reads is missing or malformed (an older cache, a hand edit) is recomputed."""
    cache = Cache(tmp_path / "c")
    key = "cd" + "0" * 62
    assert cache.put(key, Result("pass"), [])
    (cache.root / key[:2] / key / "reads.json").write_text('[{"path": "relative", "sha256": "x"}]')
    assert cache.get(key, tmp_path / "into") is None
    (cache.root / key[:2] / key / "reads.json").unlink()
    assert cache.get(key, tmp_path / "into") is None


def test_a_spec_saved_over_is_recomputed_not_served_from_the_cache(tmp_path):
    """The stale pass: a claim certified a network loaded from a file; a different network is saved over the same
    file; the next run must compute again (about the new weights), not print the old pass as cached."""
    import numerics

    spec, count = tmp_path / "spec", tmp_path / "count.txt"
    numerics.save_module(theory.select(4, [0], 2), spec)
    src = tmp_path / "stale_claims.py"
    src.write_text(SPEC_CLAIM)
    env = {"SPEC_DIR": str(spec), "COUNT_FILE": str(count), "CNNVERIFY_CACHE": str(tmp_path / "cache")}
    base = ["--claims", src, "--only", "stale.*", "-j", "1"]
    first = run_cli(*base, "--out", tmp_path / "r1", env=env)
    assert first.returncode == 0, first.stderr
    second = run_cli(*base, "--out", tmp_path / "r2", env=env)
    # the claim's helper saw a network: the claim runs again to build it, and its search is replaced by the cached
    # certificate once the checker accepts it against the network built now
    assert second.returncode == 0 and "(1 cached)" in second.stdout
    assert "running it again to build them" in second.stderr and "reused 1 cached certificates" in second.stderr
    assert count.read_text().split() == ["ran", "ran"]
    entry = json.loads((tmp_path / "r2" / "report.json").read_text())["claims"][0]
    assert entry["cached"] and entry["cache_rechecked"] == ["stale.sup.cert.certificate.json"]
    assert "certificates re-checked before reuse" in (tmp_path / "r2" / "report.md").read_text()
    numerics.save_module(theory.select(4, [1], 2), spec, force=True)  # another network, same path
    third = run_cli(*base, "--out", tmp_path / "r3", env=env)
    assert count.read_text().split() == ["ran", "ran", "ran"], "the stale entry was served"
    assert "stale.sup: cached result is stale" in third.stderr and "spec.json (changed)" in third.stderr
    doc = json.loads((tmp_path / "r3" / "report.json").read_text())
    assert not doc["claims"][0]["cached"] and doc["claims"][0]["result"]["status"] == "fail"  # x1, not x0
    assert third.returncode == 1


def test_a_module_retrained_in_memory_is_recomputed_not_served(tmp_path):
    """No file changes and the code is the same, but the torch module the claim trains is another network: the
    cached certificate is about the old weights, the checker refuses it against the new ones, and the claim
    computes again."""
    src = tmp_path / "memory_claims.py"
    src.write_text(MEMORY_CLAIM)
    base = ["--claims", src, "--only", "memory.*", "-j", "1"]
    env = {"CNNVERIFY_CACHE": str(tmp_path / "cache"), "TRAIN_SEED": "0"}
    runs = []
    for i, seed in enumerate(["0", "0", "1"]):
        out = run_cli(*base, "--out", tmp_path / f"r{i}", env={**env, "TRAIN_SEED": seed})
        assert out.returncode == 0, out.stderr
        runs.append(json.loads((tmp_path / f"r{i}" / "report.json").read_text())["claims"][0])
    first, again, retrained = runs
    assert not first["cached"] and again["cached"] and not retrained["cached"]
    assert again["result"]["observed"] == first["result"]["observed"]
    assert retrained["result"]["observed"]["upper"] != first["result"]["observed"]["upper"]
    assert retrained["result"]["evidence"]["spec_hash"] != first["result"]["evidence"]["spec_hash"]


def test_an_edited_or_linked_entry_is_never_served(tmp_path):
    """A result edited by hand (its status flipped) no longer matches the entry's digest; a symbolic link inside an
    entry would be followed into the user's report: both make the entry stale, and the claim computes again."""
    cache = Cache(tmp_path / "c")
    key = "ee" + "0" * 62
    plot = tmp_path / "plot.png"
    plot.write_bytes(b"png")
    assert cache.put(key, Result("fail", observed={"v": 1}), [plot])
    entry = cache.root / key[:2] / key
    assert cache.get(key, tmp_path / "into") is not None
    doc = json.loads((entry / "result.json").read_text())
    doc["status"] = "pass"
    (entry / "result.json").write_text(json.dumps(doc))
    assert cache.get(key, tmp_path / "into2") is None and "digest" in cache.stale[key][0]
    assert cache.put(key, Result("fail", observed={"v": 1}), [plot])
    secret = tmp_path / "secret.txt"
    secret.write_text("not the toolkit's")
    (entry / "files" / "link.txt").symlink_to(secret)
    assert cache.get(key, tmp_path / "into3") is None and "link" in cache.stale[key][0]
    assert not (tmp_path / "into3" / "link.txt").exists()

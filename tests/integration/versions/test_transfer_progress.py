"""Counting a DVC transfer: the calls dvc_data makes on its per-transfer callback (a guessed
total, the transfer's own count, then one size per batch; one update per file; a branch per
file for its bytes) add up to files n/N and bytes, whichever threads make them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from adapterctl.store import storage_progress


def test_counts_files_and_bytes_as_dvc_reports_them() -> None:
    import dvc_data.index.fetch as fetch_seam

    original = fetch_seam.TqdmCallback
    seen: list[tuple[int, int, int]] = []
    with storage_progress.counting(lambda c: seen.append((c.files, c.files_total, c.bytes))) as count:
        assert fetch_seam.TqdmCallback is not original  # the seam is in place inside the block
        cb = fetch_seam.TqdmCallback(unit="file", total=11, desc="Fetching")
        with cb:
            cb.set_size(6)  # the transfer: 6 of the 11 entries are missing here
            cb.set_size(4)  # a batch inside it: not a new total

            def one_file(size: int) -> None:
                with cb.branched("remote/x", "cache/x") as child:
                    child.set_size(size)
                    child.relative_update(size // 2)
                    child.relative_update(size - size // 2)
                cb.relative_update()

            with ThreadPoolExecutor(4) as pool:
                list(pool.map(one_file, [100, 200, 300, 400, 500, 600]))
    assert fetch_seam.TqdmCallback is original  # restored
    assert (count.files, count.files_total, count.bytes) == (6, 6, 2100)
    assert seen[0] == (0, 11, 0) and seen[-1] == (6, 6, 2100)

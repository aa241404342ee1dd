"""Bounded load test: several processes uploading and reading a PostGIS store at once."""

from __future__ import annotations

import pytest

from tests.store.load import check_store, run, summarise


@pytest.mark.slow
@pytest.mark.xdist_group("postgis")
def test_concurrent_uploads_and_reads_match_what_was_sent(pg_url):
    results, wall = run(pg_url, procs=3, seconds=6)
    summary = summarise(results, wall)
    print("load:", summary)
    # every worker really worked, concurrently
    assert all(r["stats"]["imports"] >= 2 for r in results), summary
    assert all(r["stats"]["reads"] >= 2 for r in results), summary
    assert check_store(pg_url, results) == []

"""The write-behind queue hands items over in bounded chunks, in order, none lost."""

from __future__ import annotations

from gateway.observability.write_behind import CHUNK, WriteBehind


class Sink:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def write(self, batch: list[int]) -> None:
        self.batches.append(list(batch))


def test_a_large_batch_is_written_in_chunks_in_order() -> None:
    sink = Sink()
    behind = WriteBehind(sink.write)
    behind.stopped = True  # no background writer in this test: flush by hand
    for item in range(CHUNK * 3 + 5):
        behind.add(item)
    behind.flush()
    assert [len(batch) for batch in sink.batches] == [CHUNK, CHUNK, CHUNK, 5]
    assert [item for batch in sink.batches for item in batch] == list(range(CHUNK * 3 + 5))
    behind.flush()
    assert len(sink.batches) == 4  # nothing pending: nothing written

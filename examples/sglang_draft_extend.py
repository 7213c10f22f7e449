"""A draft-extend loop shaped like SGLang's: prepare and capture one CUDA graph per batch size once, then every
step copies the new requests into the graph's static inputs and replays it. No JIT work, allocation or host sync
happens inside the steps; the one blocking read per step is the total, as SGLang's .item() does today.

usage: python3 examples/sglang_draft_extend.py   (with draftjit importable and a CUDA device)
"""

import torch

import draftjit

TOPK = 2048
DRAFT_TOKENS = 4  # at most this many extend tokens per request
CAPTURED_BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 160)


class DraftExtendGraph:
    """Static buffers and one captured graph for one batch size."""

    def __init__(self, bs):
        self.bs = bs
        self.ext = torch.zeros(bs, dtype=torch.int32, device="cuda")
        self.seq = torch.zeros(bs, dtype=torch.int32, device="cuda")
        self.expanded = torch.zeros(bs * DRAFT_TOKENS, dtype=torch.int32, device="cuda")
        self.cache = torch.zeros(bs * DRAFT_TOKENS, dtype=torch.int32, device="cuda")
        self.words = torch.zeros(2, dtype=torch.int32, device="cuda")  # total, status
        draftjit.prepare(bs)  # compile and load outside capture
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            torch.ops.draftjit.fill_draft_extend_metadata_async(self.ext, self.seq, TOPK, self.expanded, self.cache,
                                                                self.words[:1], self.words[1:], None)

    def step(self, extend_seq_lens, seq_lens):
        self.ext.copy_(extend_seq_lens)
        self.seq.copy_(seq_lens)
        self.graph.replay()
        total, status = self.words.tolist()
        if status != 0:
            raise draftjit.StatusError(f"draft extend: status {status}", status, total, self.expanded.numel())
        return self.expanded[:total], self.cache[:total]


def main():
    graphs = {bs: DraftExtendGraph(bs) for bs in CAPTURED_BATCH_SIZES}
    generator = torch.Generator(device="cuda").manual_seed(0)
    for step, bs in enumerate((1, 8, 8, 160, 33, 2)):
        padded = min(b for b in CAPTURED_BATCH_SIZES if b >= bs)  # SGLang pads to the next captured size
        ext = torch.randint(1, DRAFT_TOKENS + 1, (padded,), device="cuda", dtype=torch.int32, generator=generator)
        ext[bs:] = 0  # padding requests extend nothing
        seq = ext + torch.randint(0, 4000, (padded,), device="cuda", dtype=torch.int32, generator=generator)
        expanded, cache = graphs[padded].step(ext, seq)
        want = torch.cat([torch.arange(s - e + 1, s + 1, dtype=torch.int32) for e, s in zip(ext.tolist(),
                                                                                            seq.tolist())])
        assert torch.equal(expanded.cpu(), want) and torch.equal(cache.cpu(), want.clamp(max=TOPK))
        print(f"step {step}: bs {bs} (graph {padded}), total_tokens {expanded.numel()}, "
              f"seqlens_expanded[:4] = {expanded[:4].tolist()}")


if __name__ == "__main__":
    main()

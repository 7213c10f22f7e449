"""Drop-ins for SGLang's metadata kernels, with their names and signatures.

The fork's op:

    sgl_kernel::fill_draft_extend_metadata_cuda_adaptive(Tensor extend_seq_lens, Tensor seq_lens,
        int nsa_index_topk, Tensor! out_seqlens_expanded, Tensor! out_nsa_cache_seqlens) -> Tensor

SGLang swaps one line:
    torch.ops.sgl_kernel.fill_draft_extend_metadata_cuda_adaptive.default(...)
becomes
    draftjit.sglang.fill_draft_extend_metadata_cuda_adaptive(...)
and keeps calling .item() on the result, which is a CPU tensor here: the one blocking read already happened.
Errors are RuntimeErrors, as from the fork's op.

Upstream SGLang's whole DSA metadata step (sglang/kernels/ops/attention/dsa_metadata.py and its KPool variants in
dsa_kpool_metadata/, read 2026-12-06): fused_dsa_decode_metadata, fused_dsa_target_verify_metadata and
fused_dsa_draft_extend_metadata take upstream's arguments, in its order and with its defaults, and write the same
cells: each page-table row only over its live prefix (the request's KV length rounded up to 128 columns, clipped to
the table's width; the tail keeps what it held), page_table_1 may be None when the page size is above 1 (only
real_page_table is written). The page size is real_page_size (dsa_metadata.py) or the keyword physical_page_size (the
KPool files' name for it). Beyond upstream's arguments there is a keyword-only `status`: a 1-element int32 CUDA tensor
that receives the bits of DsaStatus (draftjit.DSA_STATUS_BITS), 0 when the outputs were written. This is where
draftjit is stricter than upstream on purpose: with bad data (a negative or int32-overflowing length, a pool index
outside req_to_token, total_len not the extend lengths' sum, a broken static_extend_len promise) any bit set means
nothing else is written, where upstream writes whatever the data makes of its outputs; and max_len / max_seqlen_k
above 2**31 - 4096 are refused (the gathers index a row's tiles in int32). Each is one asynchronous
launch of torch.ops.draftjit.dsa_*_metadata on torch's current stream (graph-capturable: no allocation, no host
synchronisation; draftjit.prepare_dsa loads the kernel ahead of a capture). Unlike upstream they also launch for
bs == 0 (and draft extend for total_len == 0), writing the same entries upstream's early returns write. Arguments
are checked in C++; errors name the argument and are PyTorch's exceptions (ValueError with torch 2.11,
RuntimeError before), as from any torch op.

Where upstream's arguments mean nothing to draftjit they are accepted and left unused: real_page_table when the page
size is 1 (upstream passes page_table_1 there) and max_extend_len (a bound upstream sizes its blocks by; draftjit
needs none, so it may be left out, as newer callers do). static_extend_len picks draftjit's specialised kernel, where
a row's request is row / extend_seq_lens[0]. bs may also be None: seq_lens.numel().

TRTLLM-MHA's graph metadata (sglang/kernels/ops/kvcache/trtllm_mha_graph_metadata.py @ 00a9f468, read 2026-12-06):
update_trtllm_mha_graph_metadata takes upstream's keyword arguments with their defaults and writes the same cells
(cache_seqlens, cu_seqlens_k[1:], cu_seqlens_q[1:] by q_mode, each page-table row over its live pages, the SWA page
table and out-cache locations), one launch of torch.ops.draftjit.trtllm_mha_graph_metadata; bs == 0 returns at once,
as upstream. The kernel is compiled once per switch set (dtypes, q_mode, SWA outputs, skip_page_table), not per bs or
page size as upstream's Triton is; draftjit.prepare(bs, kind="trtllm-mha", switches=[...]) loads it ahead of a
capture. Where upstream's result is undefined (a pool index outside req_to_token, a token or location past
swa_mapping) draftjit reads and writes nothing out of bounds and leaves those entries as they were.

TRTLLM-MLA's graph metadata (sglang/kernels/ops/kvcache/trtllm_mla_graph_metadata.py @ 2325f4e6, read 2026-12-06):
update_trtllm_mla_graph_metadata takes upstream's keyword arguments with their default and writes the same cells
(seq_lens_k when given, each block_kv_indices row over its live pages), one launch of
torch.ops.draftjit.trtllm_mla_graph_metadata (kind "trtllm-mla"); bs == 0 returns at once, as upstream. The kernel is
compiled once per input dtype pair, not per page size as upstream's Triton is, and takes any page size >= 1 (upstream's
needs a power of two up to 4096). Where upstream writes past a row (live pages beyond block_kv_indices' columns) or
reads outside req_to_token draftjit leaves those entries as they were.

TRTLLM-MHA's eager page table (sglang/kernels/ops/kvcache/trtllm_mha_page_table.py @ 252129ae, read 2026-12-06):
build_trtllm_mha_page_table takes upstream's arguments with their defaults and writes the same cells (each page_table
row over its live pages, and with full_to_swa the SWA page table at page_table's strides, the lookup clamped), one
launch of torch.ops.draftjit.trtllm_mha_page_table (kind "trtllm-mha-table"); page_table's shape gives bs and the
pages. Upstream's assertions are raised as ValueError. The kernel is compiled once per switch set (dtypes, SWA), not
per page size or row stride as upstream's Triton is. Where upstream writes past a row (live pages beyond page_table's
columns) or reads outside req_to_token draftjit leaves those entries as they were; swa_page_table must have
page_table's shape and strides.

FA3's normal-decode metadata (sglang/kernels/ops/attention/metadata.py @ 1a366c6c, read 2026-12-06):
normal_decode_set_metadata takes upstream's arguments, in its order and with its defaults, and writes the same cells
(cache_seqlens_int32, all of cu_seqlens_k with entry 0 = 0, each page-table row over its live pages, pages and SWA
slots divided by an arithmetic shift), one launch of torch.ops.draftjit.fa3_decode_metadata. token_to_kv_pool is
upstream's pool object: its full_to_swa_index_mapping is read on the host (an SWAKVPool), or, where that is None (a
unified pool), its _swa_allocator.virtual_to_physical, which upstream reads at stride 0 (every page takes entry 0)
and draftjit too. Unlike upstream nothing is copied: strided seq_lens, req_pool_indices, req_to_token and page tables
are read and written in place (upstream's .contiguous() copy of a strided swa_page_table takes its writes); the SWA
mapping must be contiguous. The kernel is compiled once per switch set (dtypes, SWA, skip_page_table), not per page
size or seq_len_delta as upstream's Triton is; draftjit.prepare(bs, kind="fa3-decode", switches=[...]) loads it ahead
of a capture. Where upstream reads out of bounds (a pool index outside req_to_token, a token before or past the SWA
mapping) draftjit leaves those entries as they were.

draft_extend_set_metadata (same file) likewise: cache_seqlens_int32, cu_seqlens_k and cu_seqlens_q whole, each
page-table row over its live pages (page_table's width is the bound), and with full_to_swa_index_mapping the SWA page
table and swa_out_cache_loc = mapping[out_cache_loc], after upstream's own assertions (raised here as ValueError, or
ZeroDivisionError at bs 0 with the mapping, as upstream's `%`); one launch of torch.ops.draftjit.fa3_draft_extend_
metadata (kind "fa3-extend"), none at bs 0.

prepare_swa_spec_page_table_triton (same file) likewise: each of the bs * speculative_num_draft_tokens rows of
page_table_dst is its request's page_table_a row over seq_len_a's columns, then its own page_table_b row, up to
their summed length, within upstream's grid of 256-column blocks and page_table_dst's columns (upstream writes past
a row there); upstream's assertion raised as ValueError; one launch of torch.ops.draftjit.fa3_swa_spec_page_table
(kind "fa3-swa-spec"), none without rows.

get_num_kv_splits_triton (same file) is a raw Triton kernel that callers launch as kernel[(1,)](*args, MAX_NUM_SEQ=...):
here an object of that shape, whose launcher takes upstream's arguments in its order and writes the same counts (and
uneven_batch_ptr's flag), in seq_lens' dtype, with Triton's approximate log2 as upstream's Triton has it; one launch
of torch.ops.draftjit.fa3_num_kv_splits (kind "fa3-kv-splits"), none for a grid with a zero dimension. A MAX_NUM_SEQ
below num_seq is refused (upstream would count only its first lanes); where upstream divides by zero draftjit writes
no count.

EAGLE's contiguous draft cache locations (sglang/kernels/ops/speculative/cache_locs.py @ 15b72bd8, read 2026-12-06):
upstream's assign_draft_cache_locs_contiguous is a raw Triton kernel its callers launch as
`assign_draft_cache_locs_contiguous[(bs,)](req_pool_indices, req_to_token, seq_lens, out_cache_loc, pool_len, topk,
speculative_num_steps)`; the drop-in is an object of the same name whose [grid] gives a launcher of those arguments
(positional or by name), bs read from the grid (a tuple, or a callable of the keyword arguments as Triton's). It writes
out_cache_loc[b * C + j] = req_to_token[req_pool_indices[b], seq_lens[b] + j] for j < C = topk *
speculative_num_steps, one launch of torch.ops.draftjit.assign_draft_cache_locs_contiguous (kind "draft-locs"), none
when the grid or C is empty. pool_len must be req_to_token's columns, as upstream's callers pass it (upstream's row
base is pool index * pool_len: the one argument draftjit refuses where upstream would read other rows). The kernel is
compiled once per input dtype pair, not per pool_len, topk and steps as upstream's Triton is. Where upstream reads
outside the request's row (seq_lens[b] + C past pool_len, a pool index outside req_to_token) draftjit leaves those
entries as they were.

The KV index builders (sglang/kernels/ops/kvcache/kv_indices.py @ 0d7e47be, read 2026-12-06) are raw Triton kernels
that callers launch as kernel[grid](*args, **constexprs): create_flashinfer_kv_indices_triton here is an object of
that shape, whose [grid] reads bs from grid[0] and returns a launcher taking upstream's arguments, in its order and
with its defaults. It writes the same cells (each request's window of its req_to_token row into the CSR stream
kv_indices at kv_indptr[b], through ENTRY_PAGE_SIZE's affine rule and token_mapping), one launch of
torch.ops.draftjit.flashinfer_kv_indices, none at bs 0. TOKEN_BLOCK_PARALLEL and grid[1] only split upstream's work,
never its result: they are accepted and unused, draftjit picks its own split. req_to_token is read as rows of
req_to_token_ptr_stride elements, as upstream indexes it (a view of the tensor when that is not its row stride). The
kernel is compiled once per switch set (kv_start_idx, its dtype, lengths and pool-index dtypes, ENTRY_PAGE_SIZE > 1,
token_mapping, kv_indices' dtype), never per stride or entry size; draftjit.prepare(bs, kind="kv-indices",
switches=[...]) loads it ahead of a capture. Where upstream reads or writes out of bounds (a pool index outside
req_to_token, a column past its width, a token past token_mapping, an offset outside kv_indices) draftjit leaves
those entries as they were. kv_indices_num_token_blocks is upstream's host helper, with its behaviour.

create_flashmla_kv_indices_triton (same file) likewise: [grid] reads bs from grid[0] and the page blocks from grid[1]
(1 for a 1-D grid), and the launcher writes each request's block-table row kv_indices[b, i] = req_to_token[pool,
s + i * PAGED_SIZE] // PAGED_SIZE over its cdiv(len, PAGED_SIZE) pages, as upstream; pages past the blocks the grid
reaches (grid[1] * 4096 // PAGED_SIZE) or past kv_indices_ptr_stride are not written (upstream writes the latter into
the next row). Both tables are read at upstream's stride arguments. One launch of torch.ops.draftjit.flashmla_kv_indices
(kind "flashmla"), none at bs 0. get_num_page_per_block_flashmla and get_num_kv_index_blocks_flashmla are upstream's
host helpers.

generate_draft_decode_kv_indices (EAGLE, kernels/ops/speculative/cache_locs.py) is one launch of
torch.ops.draftjit.generate_draft_decode_kv_indices (kind "draft-kv"), none for an empty grid: its grid's sizes are
the steps, requests and topk (with NUM_STEPS, the steps are NUM_STEPS), and kv_indices and kv_indptr are taken as the
flat runs upstream's strides index.

create_chunked_prefix_cache_kv_indices (same file) is FlashInfer's CSR writer with chunk_start_idx, chunk_seq_lens
and chunk_cu_seq_lens for kv_start_idx, the lengths and kv_indptr, ENTRY_PAGE_SIZE 1 and no mapping: one launch of
torch.ops.draftjit.chunked_prefix_kv_indices (kind "chunked-prefix"), none at bs 0, with the same guards."""

import torch

import draftjit  # registers torch.ops.draftjit; its op descriptions name the ops' arguments

fill_draft_extend_metadata_cuda_adaptive = torch.ops.draftjit.fill_draft_extend_metadata.default


def _op(name):
    """torch.ops.draftjit.<name>.default, except that a call failing with None given for a tensor the op requires
    raises a TypeError naming the op and that argument (torch's stable ABI refuses it first, naming neither). The
    check runs only after a failure: a call that works costs nothing more."""
    op = getattr(torch.ops.draftjit, name).default
    arguments = dict((op_name, arguments) for op_name, _, _, arguments in draftjit._core.op_descriptions())[name]
    required = [(index, argument[0]) for index, argument in enumerate(arguments) if argument[1] == "tensor"]

    def call(*args):
        try:
            return op(*args)
        except (RuntimeError, ValueError, TypeError):
            missing = [argument for index, argument in required if index < len(args) and args[index] is None]
            if missing:
                raise TypeError(f"{name}: {', '.join(missing)} must be a tensor, not None") from None
            raise
    return call


_decode_op = _op("dsa_decode_metadata")
_target_verify_op = _op("dsa_target_verify_metadata")
_draft_extend_op = _op("dsa_draft_extend_metadata")
_trtllm_mha_op = _op("trtllm_mha_graph_metadata")
_trtllm_mla_op = _op("trtllm_mla_graph_metadata")
_trtllm_table_op = _op("trtllm_mha_page_table")
_fa3_decode_op = _op("fa3_decode_metadata")
_fa3_extend_op = _op("fa3_draft_extend_metadata")
_fa3_spec_table_op = _op("fa3_swa_spec_page_table")
_fa3_kv_splits_op = _op("fa3_num_kv_splits")
_draft_cache_locs_op = _op("assign_draft_cache_locs_contiguous")
_draft_kv_indices_op = _op("generate_draft_decode_kv_indices")
_flashinfer_kv_indices_op = _op("flashinfer_kv_indices")
_flashmla_kv_indices_op = _op("flashmla_kv_indices")
_chunked_prefix_kv_indices_op = _op("chunked_prefix_kv_indices")

# cu_seqlens_q's modes in update_trtllm_mha_graph_metadata, upstream's names and values (draftjit::QMode).
Q_MODE_NONE = 0  # preset by the caller (decode, target verify): not written
Q_MODE_CUMSUM = 1  # cu_seqlens_q[1:] = cumsum(qlens) (draft extend)
Q_MODE_STRIDED = 2  # cu_seqlens_q[1:] = arange(1, bs + 1) * q_stride (draft extend v2)


def _real(real_page_table, page_size):
    """real_page_table as the op takes it: None when the page size is 1, where it is not written and upstream passes
    page_table_1 itself (two written arguments of one op must not alias)."""
    return real_page_table if page_size > 1 else None


def _bs(bs, seq_lens):
    return seq_lens.numel() if bs is None else bs


def _kpool(index_kpool):
    return 1 if index_kpool is None else index_kpool


def _page_size(real_page_size, physical_page_size):
    """The page size under either of upstream's names (real_page_size in dsa_metadata.py, physical_page_size in the
    KPool files)."""
    if real_page_size is None and physical_page_size is None:
        raise TypeError("missing the page size: real_page_size or physical_page_size")
    if real_page_size is not None and physical_page_size is not None and real_page_size != physical_page_size:
        raise TypeError(f"real_page_size = {real_page_size} and physical_page_size = {physical_page_size} differ")
    return real_page_size if real_page_size is not None else physical_page_size


def fused_dsa_decode_metadata(seq_lens, req_pool_indices, req_to_token, cache_seqlens, cu_seqlens_k, page_table_1,
                              dsa_cache_seqlens, dsa_cu_seqlens_k, real_page_table, bs, max_len, dsa_index_topk,
                              real_page_size=None, index_kpool=1, *, physical_page_size=None, status=None):
    """Decode: cache_seqlens = seq_lens, cu_seqlens_k its prefix, dsa_cache_seqlens = min(seq_lens, topk) (pooled
    when index_kpool > 1) and its prefix; for each row b and each live column j (below seq_lens[b] rounded up to
    128, and below max_len), page_table_1[b, j] = req_to_token[req_pool_indices[b], j], and real_page_table[b, j / P]
    = that / P for j % P == 0 when the page size P > 1."""
    page_size = _page_size(real_page_size, physical_page_size)
    _decode_op(seq_lens, req_pool_indices, req_to_token, cache_seqlens, cu_seqlens_k, page_table_1,
               dsa_cache_seqlens, dsa_cu_seqlens_k, _real(real_page_table, page_size), _bs(bs, seq_lens), max_len,
               dsa_index_topk, page_size, _kpool(index_kpool), status)


def fused_dsa_target_verify_metadata(seq_lens, req_pool_indices, req_to_token, cache_seqlens, cu_seqlens_k,
                                     page_table_1, seqlens_expanded, dsa_cache_seqlens, dsa_cu_seqlens_k,
                                     real_page_table, bs, max_seqlen_k, dsa_index_topk, real_page_size=None,
                                     next_n=None, paged_mqa_ctx_lens_2d=None, index_kpool=1, *,
                                     physical_page_size=None, status=None):
    """Target verify: cache_seqlens = seq_lens + next_n and its prefix; for row r = b * next_n + d,
    seqlens_expanded[r] = seq_lens[b] + d + 1, dsa_cache_seqlens[r] from it and their prefix, page_table_1 (and
    real_page_table) rows from req_to_token[req_pool_indices[b]] over the live columns (below seq_lens[b] + next_n
    rounded up to 128, and below max_seqlen_k); paged_mqa_ctx_lens_2d[b, d] = seq_lens[b] + next_n when given."""
    if next_n is None:
        raise TypeError("fused_dsa_target_verify_metadata() missing required argument: 'next_n'")
    page_size = _page_size(real_page_size, physical_page_size)
    _target_verify_op(seq_lens, req_pool_indices, req_to_token, cache_seqlens, cu_seqlens_k, page_table_1,
                      seqlens_expanded, dsa_cache_seqlens, dsa_cu_seqlens_k, _real(real_page_table, page_size),
                      _bs(bs, seq_lens), max_seqlen_k, dsa_index_topk, page_size, next_n, paged_mqa_ctx_lens_2d,
                      _kpool(index_kpool), status)


def fused_dsa_draft_extend_metadata(seq_lens, extend_seq_lens, req_pool_indices, req_to_token, cache_seqlens,
                                    cu_seqlens_k, page_table_1, seqlens_expanded, dsa_cache_seqlens,
                                    dsa_cu_seqlens_k, real_page_table, bs, total_len, max_seqlen_k, dsa_index_topk,
                                    real_page_size=None, max_extend_len=None, max_total_len=None,
                                    static_extend_len=False, index_kpool=1, *, physical_page_size=None, status=None):
    """Draft extend: cache_seqlens = seq_lens and its prefix; token t of request b (the extend lengths' exclusive
    prefix puts it there, local = its place in the request): seqlens_expanded[t] = max(seq_lens[b] -
    extend_seq_lens[b] + 1 + local, 0), dsa_cache_seqlens[t] from it and their prefix (total_len + 1 entries),
    page_table_1 (and real_page_table) rows from req_to_token[req_pool_indices[b]] over the live columns (below
    seq_lens[b] rounded up to 128, and below max_seqlen_k). Raises ValueError when total_len > max_total_len, as
    upstream asserts; a total_len the device's extend lengths do not sum to, or past the outputs' rows, is a status
    bit."""
    if max_total_len is not None and total_len > max_total_len:
        raise ValueError(f"total_len = {total_len} exceeds max_total_len = {max_total_len}")
    page_size = _page_size(real_page_size, physical_page_size)
    _draft_extend_op(seq_lens, extend_seq_lens, req_pool_indices, req_to_token, cache_seqlens, cu_seqlens_k,
                     page_table_1, seqlens_expanded, dsa_cache_seqlens, dsa_cu_seqlens_k,
                     _real(real_page_table, page_size), _bs(bs, seq_lens), total_len, max_seqlen_k, dsa_index_topk,
                     page_size, int(bool(static_extend_len)), _kpool(index_kpool), status)


def update_trtllm_mha_graph_metadata(*, req_pool_indices, seq_lens, req_to_token, cache_seqlens, cu_seqlens_k,
                                     page_table, bs, seqlen_offset, max_seq_pages, page_size, swa_mapping=None,
                                     swa_page_table=None, out_cache_loc=None, swa_out_cache_loc=None,
                                     cu_seqlens_q=None, qlens=None, q_stride=0, q_mode=Q_MODE_NONE,
                                     skip_page_table=False):
    """upstream's update_trtllm_mha_graph_metadata: see the top of this module."""
    if bs == 0:
        return
    _trtllm_mha_op(req_pool_indices, seq_lens, req_to_token, cache_seqlens, cu_seqlens_k, page_table, bs,
                   seqlen_offset, max_seq_pages, page_size, swa_mapping, swa_page_table, out_cache_loc,
                   swa_out_cache_loc, cu_seqlens_q, qlens, q_stride, q_mode, int(skip_page_table))


def update_trtllm_mla_graph_metadata(*, req_pool_indices, seq_lens, req_to_token, block_kv_indices, bs, seqlen_offset,
                                     page_size, seq_lens_k=None):
    """upstream's update_trtllm_mla_graph_metadata: see the top of this module."""
    if bs == 0:
        return
    _trtllm_mla_op(req_pool_indices, seq_lens, req_to_token, block_kv_indices, bs, seqlen_offset, page_size,
                   seq_lens_k)


def build_trtllm_mha_page_table(req_to_token, req_pool_indices, cache_seqlens, page_table, page_size,
                                swa_page_table=None, full_to_swa=None):
    """upstream's build_trtllm_mha_page_table: see the top of this module."""
    if (full_to_swa is None) != (swa_page_table is None):
        raise ValueError("full_to_swa and swa_page_table must be provided together")
    if page_size < 1 or 4096 % page_size != 0:
        raise ValueError(f"page_size={page_size} must divide 4096, the tokens of one of upstream's blocks")
    bs, _ = page_table.shape if page_table is not None else (0, 0)  # None: the op's TypeError names it
    _trtllm_table_op(req_to_token, req_pool_indices, cache_seqlens, page_table, page_size, swa_page_table,
                     full_to_swa, bs)


def _swa_mapping(token_to_kv_pool):
    """The mapping upstream's normal_decode_set_metadata reads from the pool, and the stride it reads it at: an
    SWAKVPool's full_to_swa_index_mapping (1), else a unified pool's SWA allocator's virtual_to_physical (0)."""
    mapping = token_to_kv_pool.full_to_swa_index_mapping
    if mapping is not None:
        return mapping, 1
    allocator = getattr(token_to_kv_pool, "_swa_allocator", None)
    if allocator is None:
        raise ValueError("token_to_kv_pool has neither full_to_swa_index_mapping nor an _swa_allocator")
    return allocator.virtual_to_physical, 0


def normal_decode_set_metadata(cache_seqlens_int32, cu_seqlens_k, page_table, req_to_token, req_pool_indices,
                               max_seq_pages, seq_lens, seq_len_delta, page_size, swa_page_table=None,
                               token_to_kv_pool=None, skip_page_table=False):
    """upstream's normal_decode_set_metadata: see the top of this module. SWA is used, as upstream, only with both
    swa_page_table and token_to_kv_pool given, and the pool is not read with skip_page_table."""
    use_swa = not skip_page_table and swa_page_table is not None and token_to_kv_pool is not None
    mapping, mapping_stride = _swa_mapping(token_to_kv_pool) if use_swa else (None, 1)
    _fa3_decode_op(cache_seqlens_int32, cu_seqlens_k, page_table, req_to_token, req_pool_indices, max_seq_pages,
                   seq_lens, seq_len_delta, page_size, swa_page_table if use_swa else None, mapping, mapping_stride,
                   int(skip_page_table), cache_seqlens_int32.shape[0])


def draft_extend_set_metadata(cache_seqlens_int32, cu_seqlens_k, cu_seqlens_q, page_table, req_to_token,
                              req_pool_indices, seq_lens, extend_seq_lens, page_size, full_to_swa_index_mapping=None,
                              swa_page_table=None, out_cache_loc=None, swa_out_cache_loc=None):
    """upstream's draft_extend_set_metadata: see the top of this module. Without the mapping upstream ignores the
    other SWA arguments, and so does this."""
    batch_size = cache_seqlens_int32.shape[0]
    if full_to_swa_index_mapping is not None:
        if swa_page_table is None or swa_page_table.shape != page_table.shape or (
                swa_page_table.stride() != page_table.stride()):
            raise ValueError("swa_page_table must be given with page_table's shape and strides")
        if out_cache_loc is None or swa_out_cache_loc is None:
            raise ValueError("out_cache_loc and swa_out_cache_loc must be given with full_to_swa_index_mapping")
        num_out_tokens = out_cache_loc.shape[0]
        if swa_out_cache_loc.shape[0] != num_out_tokens:
            raise ValueError("swa_out_cache_loc and out_cache_loc must have the same length")
        if not (num_out_tokens > 0 and num_out_tokens % batch_size == 0):
            raise ValueError(f"out_cache_loc's length {num_out_tokens} must be a positive multiple of bs "
                             f"{batch_size}")
    else:
        swa_page_table = out_cache_loc = swa_out_cache_loc = None
    _fa3_extend_op(cache_seqlens_int32, cu_seqlens_k, cu_seqlens_q, page_table, req_to_token, req_pool_indices,
                   seq_lens, extend_seq_lens, page_size, full_to_swa_index_mapping, swa_page_table, out_cache_loc,
                   swa_out_cache_loc, batch_size)


def prepare_swa_spec_page_table_triton(page_table_dst, page_table_a, page_table_b, seq_len_a, seq_len_b,
                                       speculative_num_draft_tokens):
    """upstream's prepare_swa_spec_page_table_triton: see the top of this module."""
    bs = seq_len_a.numel()
    if seq_len_b.numel() != bs * speculative_num_draft_tokens:
        raise ValueError(f"seq_len_b has {seq_len_b.numel()} entries, not bs * speculative_num_draft_tokens = "
                         f"{bs} * {speculative_num_draft_tokens}")
    _fa3_spec_table_op(page_table_dst, page_table_a, page_table_b, seq_len_a, seq_len_b,
                       speculative_num_draft_tokens, bs)


class _GridLaunched:
    """A raw Triton kernel's drop-in: kernel[grid](*args, **kwargs) as upstream's callers write it. grid is a tuple
    (or a callable of the keyword arguments, as Triton calls it) of 1 to 3 sizes, which the launch function receives
    first, as a tuple of ints (_grid_bs: its bs)."""

    def __init__(self, name, launch):
        self.__name__ = self.__qualname__ = name
        self.__doc__ = launch.__doc__
        self._launch = launch

    def __getitem__(self, grid):
        def launcher(*args, **kwargs):
            sizes = grid(kwargs) if callable(grid) else grid
            sizes = (sizes,) if isinstance(sizes, int) else tuple(int(size) for size in sizes)
            if not sizes or len(sizes) > 3:
                raise ValueError(f"{self.__name__}: a grid has 1 to 3 sizes, not {sizes!r}")
            return self._launch(sizes, *args, **kwargs)
        return launcher

    def __repr__(self):
        return f"<draftjit drop-in for the Triton kernel {self.__name__}[grid]>"


def _grid_bs(sizes):
    """A grid's first size, its bs; 0 where any size is 0 (Triton launches nothing then)."""
    return sizes[0] if all(size > 0 for size in sizes) else 0


def _assign_draft_cache_locs_contiguous(grid, req_pool_indices, req_to_token, seq_lens, out_cache_loc, pool_len, topk,
                                        speculative_num_steps):
    _draft_cache_locs_op(req_pool_indices, req_to_token, seq_lens, out_cache_loc, pool_len, topk,
                         speculative_num_steps, _grid_bs(grid))


assign_draft_cache_locs_contiguous = _GridLaunched("assign_draft_cache_locs_contiguous",
                                                   _assign_draft_cache_locs_contiguous)


def _flat(tensor):
    """tensor's storage from its first element as one contiguous run: what a raw kernel's pointer arithmetic over
    rows of a stride it is given reaches (None stays None: the op names it)."""
    if tensor is None or tensor.is_contiguous():
        return tensor if tensor is None else tensor.view(-1)
    return tensor.as_strided((_elements_from(tensor),), (1,))


def _elements_from(tensor):
    """The elements of tensor's storage from its first one on."""
    return tensor.untyped_storage().nbytes() // tensor.element_size() - tensor.storage_offset()


def _draft_decode_kv_indices(grid, req_pool_indices, req_to_token, paged_kernel_lens, kv_indices, kv_indptr,
                             positions, pool_len, kv_indices_stride, kv_indptr_stride, bs_upper, iter_upper,
                             num_tokens_upper, page_size, NUM_STEPS=0):
    """upstream's generate_draft_decode_kv_indices[grid](...): grid (steps, num_seqs, topk), or, token-block parallel,
    (steps * blocks, num_seqs, topk) with NUM_STEPS = steps (the same values). kv_indices and kv_indptr are written
    as upstream addresses them, step d's row at d * their stride from their first element."""
    steps, num_seqs, topk = grid + (1,) * (3 - len(grid))
    if NUM_STEPS:
        if 0 < steps < NUM_STEPS:
            raise ValueError(f"generate_draft_decode_kv_indices: grid[0] = {steps} is less than NUM_STEPS = "
                             f"{NUM_STEPS}, so no token block would copy (upstream's loop would step by 0)")
        steps = NUM_STEPS
    _draft_kv_indices_op(req_pool_indices, req_to_token, paged_kernel_lens, _flat(kv_indices), _flat(kv_indptr),
                         positions, pool_len, kv_indices_stride, kv_indptr_stride, bs_upper, iter_upper,
                         num_tokens_upper, page_size, steps, topk, num_seqs if _grid_bs(grid) else 0)


generate_draft_decode_kv_indices = _GridLaunched("generate_draft_decode_kv_indices", _draft_decode_kv_indices)


def _num_kv_splits(grid, num_kv_splits_ptr, seq_lens_ptr, num_seq, num_group, num_head, num_kv_head, max_kv_splits,
                   device_core_count, MAX_NUM_SEQ, uneven_batch_ptr=None):
    """upstream's get_num_kv_splits_triton[grid](...): see the top of this module. Its programs all write the same
    values, so any grid without a zero size is one launch."""
    if _grid_bs(grid):
        _fa3_kv_splits_op(num_kv_splits_ptr, seq_lens_ptr, num_seq, num_group, num_head, num_kv_head, max_kv_splits,
                          device_core_count, MAX_NUM_SEQ, uneven_batch_ptr)


get_num_kv_splits_triton = _GridLaunched("get_num_kv_splits_triton", _num_kv_splits)


def _rows_of(table, stride, name):
    """table as upstream's kernels index it, rows of `stride` elements from its first: the table itself where that
    is its row stride (or it has one row) and its columns are adjacent, else a view of its storage so shaped."""
    if table.dim() == 2 and table.stride(1) == 1 and (table.stride(0) == stride or table.shape[0] <= 1):
        return table
    if stride <= 0:
        raise ValueError(f"{name} = {stride} must be positive")
    return table.as_strided((_elements_from(table) // stride, stride), (stride, 1))


def kv_indices_num_token_blocks(table_width, base_programs):
    """upstream's helper: the second grid dimension its callers launch create_flashinfer_kv_indices_triton with, one
    block per 8192 columns of table_width at most and about 512 programs in all, at least 1."""
    by_width = -(-table_width // 8192)
    by_programs = 512 // max(1, base_programs)
    return max(1, min(by_width, by_programs))


def _flashinfer_kv_indices(grid, req_to_token_ptr, req_pool_indices_ptr, page_kernel_lens_ptr, kv_indptr, kv_start_idx,
                           kv_indices_ptr, req_to_token_ptr_stride, ENTRY_PAGE_SIZE=1, TOKEN_BLOCK_PARALLEL=False,
                           token_mapping=None):
    """upstream's create_flashinfer_kv_indices_triton[grid](...): see the top of this module."""
    del TOKEN_BLOCK_PARALLEL  # upstream's work split, never its result
    req_to_token = _rows_of(req_to_token_ptr, req_to_token_ptr_stride, "req_to_token_ptr_stride")
    _flashinfer_kv_indices_op(req_to_token, req_pool_indices_ptr, page_kernel_lens_ptr, kv_indptr, kv_start_idx,
                              kv_indices_ptr, ENTRY_PAGE_SIZE, token_mapping, _grid_bs(grid))


create_flashinfer_kv_indices_triton = _GridLaunched("create_flashinfer_kv_indices_triton", _flashinfer_kv_indices)


_FLASHMLA_BLOCK_TOKENS = 4096  # upstream's page block: 4096 // page_size pages per program


def get_num_page_per_block_flashmla(page_size=64):
    """upstream's helper: the pages one program of create_flashmla_kv_indices_triton writes."""
    return _FLASHMLA_BLOCK_TOKENS // page_size


def get_num_kv_index_blocks_flashmla(kv_indices_width, page_size):
    """upstream's helper: grid[1] of create_flashmla_kv_indices_triton, the page blocks a row of kv_indices_width
    pages spans."""
    return -(-kv_indices_width // get_num_page_per_block_flashmla(page_size))


def _flashmla_kv_indices(grid, req_to_token_ptr, req_pool_indices_ptr, page_kernel_lens_ptr, kv_start_idx,
                         kv_indices_ptr, req_to_token_ptr_stride, kv_indices_ptr_stride, PAGED_SIZE=64):
    """upstream's create_flashmla_kv_indices_triton[grid](...): see the top of this module."""
    table = _rows_of(kv_indices_ptr, kv_indices_ptr_stride, "kv_indices_ptr_stride")
    reached = (grid[1] if len(grid) > 1 else 1) * get_num_page_per_block_flashmla(PAGED_SIZE)
    if reached < table.shape[1]:
        table = table[:, :reached]
    req_to_token = _rows_of(req_to_token_ptr, req_to_token_ptr_stride, "req_to_token_ptr_stride")
    _flashmla_kv_indices_op(req_to_token, req_pool_indices_ptr, page_kernel_lens_ptr, kv_start_idx, table, PAGED_SIZE,
                            _grid_bs(grid))


create_flashmla_kv_indices_triton = _GridLaunched("create_flashmla_kv_indices_triton", _flashmla_kv_indices)


def _chunked_prefix_kv_indices(grid, req_to_token_ptr, req_pool_indices_ptr, chunk_start_idx_ptr, chunk_seq_lens_ptr,
                               chunk_cu_seq_lens_ptr, chunk_kv_indices_ptr, req_to_token_ptr_stride):
    """upstream's create_chunked_prefix_cache_kv_indices[grid](...): see the top of this module."""
    req_to_token = _rows_of(req_to_token_ptr, req_to_token_ptr_stride, "req_to_token_ptr_stride")
    _chunked_prefix_kv_indices_op(req_to_token, req_pool_indices_ptr, chunk_start_idx_ptr, chunk_seq_lens_ptr,
                                  chunk_cu_seq_lens_ptr, chunk_kv_indices_ptr, _grid_bs(grid))


create_chunked_prefix_cache_kv_indices = _GridLaunched("create_chunked_prefix_cache_kv_indices",
                                                      _chunked_prefix_kv_indices)

"""Speed machinery for ``nn.network.Network``: each module one trick, none of them new math.

``nn/reference.py`` defines what the network computes; everything here computes the same
numbers with less work or fewer passes over memory, and tests compare the result with the
reference (``tests/engine/test_network.py``). Where each trick's speed was measured:
``benchmarks/README.md``.

- ``storage``: parameters and gradients in one flat buffer each, and the first layer stored
  input-major with the always-zero inputs last (``InputLayout``).
- ``row_blocks``: a batch sorted by how far its rows' ink reaches multiplies in blocks, each
  only as wide as its rows need.
- ``column_split``: full-batch training multiplies mostly-zero input columns as a sparse matrix.
- ``batches``: mini-batches gathered from uint8 pixels as compact rows sorted by ink, and
  whole-split evaluations in the same order.
- ``first_layer``: the first layer's two products, through whichever of the above applies.
- ``fused``: optimiser updates written by backprop's own products (``C = A B + beta C``).
- ``blas``: the BLAS thread limit, and the gemm call with beta that NumPy does not offer.
- ``reductions``: sums, maxima and argmax over short rows without NumPy's per-row overhead.
"""

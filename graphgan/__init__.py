"""The graph GAN of Kansal et al., "Graph Generative Adversarial Networks for Sparse Data
Generation in High Energy Physics" (ML4PS @ NeurIPS 2020, arXiv:2012.00173; rkansal47/graph-gan):
images as graphs, one model per class, judged by a graph Fréchet distance.

- data: :mod:`graphgan.images` (IDX/CSV readers), :mod:`graphgan.sparse` (the 100 brightest
  pixels), :mod:`graphgan.superpixels` (75 SLIC superpixels; Monti's and PyG's files),
  :mod:`graphgan.data` (cached graph sets);
- model: :mod:`graphgan.model` (the published networks), :mod:`graphgan.presets` (Table 1),
  :mod:`graphgan.task` and :mod:`graphgan.spec` (``python -m distributed.train graphgan``),
  :mod:`graphgan.pictures`;
- GFD: :mod:`graphgan.monet` (the classifier), :mod:`graphgan.gfd`, :mod:`graphgan.classifier`
  (``python -m graphgan.classifier``), :mod:`graphgan.benchmark`.
"""

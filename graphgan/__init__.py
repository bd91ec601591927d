"""The graph GAN of Kansal et al., "Graph Generative Adversarial Networks for Sparse Data
Generation in High Energy Physics" (ML4PS @ NeurIPS 2020, arXiv:2012.00173): sparse images as
graphs. This package holds, so far, the image readers (:mod:`graphgan.images`), the sparse-graph
transform (:mod:`graphgan.sparse`) and the published networks (:mod:`graphgan.model`); the task,
the superpixels and the graph Fréchet distance follow (issue 34).
"""

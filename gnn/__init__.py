"""Shared graph layers for the GVAE and MPGAN, one per module.

- :mod:`gnn.mlp`: the multilayer perceptron both models build from (dropout as the published
  MPGAN's ``LinearNet``).
- :mod:`gnn.leaky_dropout`: LeakyReLU and dropout fused in one CPU kernel.
- :mod:`gnn.graph`: kNN graphs for hits (PyG's ``knn_graph`` needs pyg-lib) and dense batching
  with a node cap.
- :mod:`gnn.sage_stack`: GraphSAGE convolutions on sparse graphs.
- :mod:`gnn.dense_graph_stack`: graph convolutions on dense, weighted adjacency.
- :mod:`gnn.mincut`: MinCut pooling that also returns the assignment S, and the unpooling.
- :mod:`gnn.message_passing`: the fully connected, masked message-passing layer of MPGAN.

Import the modules themselves: this package imports nothing, so that the MPGAN (message passing
and MLPs only) does not pay for PyG's import (about 2 s in every training process).
"""

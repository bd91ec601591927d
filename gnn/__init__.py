"""Shared graph layers for the GVAE and MPGAN.

- :mod:`gnn.mlp`: the multilayer perceptron both models build from.
- :mod:`gnn.graph`: kNN graphs for hits (cdist + topk; PyG's ``knn_graph`` needs pyg-lib) and
  dense batching with a node cap.
- :mod:`gnn.sage`: GraphSAGE stacks on sparse graphs and dense (weighted) adjacency.
- :mod:`gnn.mincut`: MinCut pooling that also returns the assignment S, and the matching unpooling.
- :mod:`gnn.message_passing`: the fully connected, masked message-passing layer of MPGAN.
"""

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
"""

from gnn.dense_graph_stack import DenseGraphStack
from gnn.graph import knn_graph
from gnn.leaky_dropout import LeakyReLUDropout
from gnn.message_passing import FullyConnectedMessagePassing
from gnn.mincut import MinCutPool, unpool
from gnn.mlp import mlp
from gnn.sage_stack import SAGEStack

__all__ = [
    "DenseGraphStack",
    "FullyConnectedMessagePassing",
    "LeakyReLUDropout",
    "MinCutPool",
    "SAGEStack",
    "knn_graph",
    "mlp",
    "unpool",
]

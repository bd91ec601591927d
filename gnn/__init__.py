"""Shared graph layers (GraphSAGE, MinCut pooling, masked message passing) for GVAE and MPGAN."""

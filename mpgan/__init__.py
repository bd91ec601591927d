"""Message-passing GAN for jets as particle clouds (Kansal et al., NeurIPS 2021)."""

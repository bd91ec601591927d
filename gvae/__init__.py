"""Graph variational autoencoder for tracker/ECAL/HCAL hits (Hariri, Dyachkova, Gleyzer 2021)."""

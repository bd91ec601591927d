"""Physics data: Pythia 8 + FastJet jets, a CMS-like calorimeter, JetNet and CMS E2E files."""

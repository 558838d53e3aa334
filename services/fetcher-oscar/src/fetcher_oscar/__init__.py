"""casebridge fetcher-oscar: polls OSCaR and publishes one raw-record message per changed record."""

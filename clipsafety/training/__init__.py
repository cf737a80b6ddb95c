"""Training helpers the model worlds share (the toy and the synthetic world): not used by the core."""

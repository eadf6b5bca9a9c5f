//! Reverse-mode autograd: a symbolic tape compiled into a planned training step (to be written).

"""One module per step of the loop; ``registry`` orders them."""

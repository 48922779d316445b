"""shopcx."""

"""One kind of upstream conversation per module, and ``base`` with the exchange contract and shared helpers."""

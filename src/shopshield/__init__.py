"""ShopShield: keeps a store's customer data from leaking and protects its customers from scams."""

__version__ = "0.1.0"

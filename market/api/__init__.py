"""The API of the trading core, one module per area; market/urls.py routes it."""

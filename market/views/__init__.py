"""The team pages, one module per area; market/urls_pages.py routes them."""

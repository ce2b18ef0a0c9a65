"""Showing a logged run: plain text for the terminal, one HTML page for a browser."""

"""Stability AI image generation."""

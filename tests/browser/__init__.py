"""Tests in headless Chromium through Playwright (marker ``browser``)."""

"""Tests of chain.codec (a package so module names cannot clash with other test directories)."""
